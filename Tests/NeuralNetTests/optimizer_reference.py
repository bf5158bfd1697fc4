#!/usr/bin/env python3
"""numpy reference for OptimizerTests.swift: the optimizers' formulas, operation for operation in
the engine's order (docs/optimizers.md), on a linear model 2-1 (identity output, mse, bias)
trained on one row, so every epoch is one step. Run it and paste its output into the test:

    python3 Tests/NeuralNetTests/optimizer_reference.py

Each case prints, per precision, the weights w0, w1 and the bias b after epochs 1..4, and the
optimizer buffers after epoch 4, as Swift literals (shortest repr: parsed back to the same bits).
"""
import math
import numpy as np

X = (0.5, -1.5)       # the one training row
Y = 2.0               # its target
W0 = (0.3, -0.2)      # initial weights (layer 1: 2 x 1)
B0 = 0.1              # initial bias
EPOCHS = 4

CASES = [
    # name, optimizer, learning rate, settings
    ("adam", "adam", 0.01, dict()),
    ("adam-l2", "adam", 0.01, dict(beta1=0.8, beta2=0.99, epsilon=1e-6, weight_decay=0.1)),
    ("adamw", "adamw", 0.01, dict(weight_decay=0.1)),
    ("rmsprop", "rmsprop", 0.01, dict()),
    ("rmsprop-momentum", "rmsprop", 0.01, dict(rho=0.9, momentum=0.9, weight_decay=0.05)),
    ("sgd", "sgd", 0.1, dict()),
]


def train(T, optimizer, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, rho=0.99, momentum=0.0, weight_decay=0.0):
    x = [T(v) for v in X]
    y = T(Y)
    p = [T(W0[0]), T(W0[1]), T(B0)]           # flat parameters: weights, then bias (the engine's layout)
    m = [T(0)] * 3                            # adam m / rmsprop momentum buffer
    v = [T(0)] * 3                            # adam v / rmsprop square average
    history = []
    for step in range(1, EPOCHS + 1):
        # forward: z = (0 + x0 w0) + x1 w1, + b; mse delta = (2 / 1) (z - y) x 1
        z = T(0) + x[0] * p[0]
        z = z + x[1] * p[1]
        z = z + p[2]
        delta = T(2) * (z - y) * T(1)
        g = [T(0) + x[0] * delta, T(0) + x[1] * delta, delta]
        if weight_decay != 0 and optimizer != "adamw":
            for i in (0, 1):
                g[i] = g[i] + T(weight_decay) * p[i]
        if optimizer == "sgd":
            p = [p[i] - T(lr) * g[i] for i in range(3)]
        elif optimizer in ("adam", "adamw"):
            if optimizer == "adamw" and weight_decay != 0:
                shrink = T(1 - lr * weight_decay)
                for i in (0, 1):
                    p[i] = p[i] * shrink
            correction1 = 1 - math.pow(beta1, float(step))
            correction2 = 1 - math.pow(beta2, float(step))
            step_size = T(lr / correction1)
            correction2_root = T(math.sqrt(correction2))
            for i in range(3):
                m[i] = T(beta1) * m[i] + T(1 - beta1) * g[i]
                v[i] = T(beta2) * v[i] + T(1 - beta2) * (g[i] * g[i])
                denominator = np.sqrt(v[i]) / correction2_root + T(epsilon)
                p[i] = p[i] - step_size * (m[i] / denominator)
        elif optimizer == "rmsprop":
            for i in range(3):
                v[i] = T(rho) * v[i] + T(1 - rho) * (g[i] * g[i])
                scaled = g[i] / (np.sqrt(v[i]) + T(epsilon))
                if momentum > 0:
                    m[i] = T(momentum) * m[i] + scaled
                    p[i] = p[i] - T(lr) * m[i]
                else:
                    p[i] = p[i] - T(lr) * scaled
        history.append(list(p))
    return history, m, v


def literal(values):
    return "[" + ", ".join(repr(float(value)) if isinstance(value, np.float64) else str(value) for value in values) + "]"


for name, optimizer, lr, settings in CASES:
    for T in (np.float32, np.float64):
        history, m, v = train(T, optimizer, lr, **settings)
        label = "float32" if T is np.float32 else "float64"
        print(f'(("{name}", .{label}), (epochs: [' + ", ".join(literal(p) for p in history) + f"], first: {literal(m)}, second: {literal(v)})),")
