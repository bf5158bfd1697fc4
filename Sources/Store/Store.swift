// Store module (placeholder until its issue lands).
