"""Fit y = sin(x) with a cubic by gradient descent on raw tensors (the "Learning PyTorch with Examples" style)."""
import json
import math

import numpy as np
import torch

dtype = torch.float
device = torch.device("cpu")
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)
start = np.random.default_rng(0).standard_normal(4)
a, b, c, d = (torch.tensor(v, device=device, dtype=dtype, requires_grad=True) for v in start)
learning_rate = 1e-6
losses = []
for t in range(500):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
print("RESULT", json.dumps({"losses": losses, "coefficients": [a.item(), b.item(), c.item(), d.item()]}))
