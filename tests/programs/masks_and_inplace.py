"""Masks, in-place updates and where() inside a training loop, as hand-written training code uses them."""
import json

import numpy as np
import torch

rng = np.random.default_rng(4)
x = torch.tensor(rng.standard_normal((50, 4)))
true_w = torch.tensor([[1.0], [-2.0], [0.0], [0.5]], dtype=torch.float64)
y = x @ true_w + 0.1 * torch.tensor(rng.standard_normal((50, 1)))
w = torch.zeros(4, 1, dtype=torch.float64, requires_grad=True)
trace = []
for step in range(40):
    residual = x @ w - y
    weights = torch.where(residual.abs() > 1.0, 0.5, 1.0)      # a robust reweighting
    loss = (weights * residual ** 2).mean()
    loss.backward()
    with torch.no_grad():
        g = w.grad
        g[g.abs() < 1e-3] = 0                                 # boolean-mask assignment
        g.clamp_(-1, 1)
        w.sub_(0.3 * g)
        w.grad.zero_()
    trace.append(round(loss.item(), 8))
h = torch.tensor(rng.standard_normal((3, 5)), requires_grad=True)
z = h * 2
z[z < 0] = 0                                                 # setitem on a non-leaf, recorded
z += 1
z = z.masked_fill(z > 2.5, 2.5)
z.relu_()
out = (z * torch.arange(15, dtype=torch.float64).reshape(3, 5)).sum()
out.backward()
print("RESULT", json.dumps({"trace": trace, "w": w.detach().flatten().tolist(), "grad": h.grad.flatten().tolist(),
                            "out": out.item(), "count": int((z == 2.5).sum())}))
