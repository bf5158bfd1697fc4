// Reporting module (placeholder until its issue lands).
