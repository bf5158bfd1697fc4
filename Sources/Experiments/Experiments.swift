// Experiments module (placeholder until its issue lands).
