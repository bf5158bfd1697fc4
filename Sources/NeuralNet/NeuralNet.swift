// NeuralNet module (placeholder until its issue lands).
