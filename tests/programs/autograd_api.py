"""The autograd API: grad_fn, backward with a gradient, autograd.grad, retain_grad, hooks, detach, requires_grad_."""
import json

import torch

x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
w = torch.eye(3, 4, requires_grad=True)
z = torch.matmul(x, w) + 1
z.retain_grad()
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor([0.0, 1.0, 1.0, 0.0]))
gx, gw = torch.autograd.grad(loss, [x, w], retain_graph=True)
loss.backward()
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
first = inp.grad.clone()
out.backward(torch.ones_like(out))
doubled = inp.grad.clone()
inp.grad.zero_()
collected = []
v = torch.tensor([2.0, 3.0], requires_grad=True)
v.register_hook(lambda g: collected.append(g.tolist()))
u = v * v
u.register_hook(lambda g: g * 10)
u.sum().backward()
frozen = torch.tensor([1.0, 2.0]).requires_grad_()
d = (frozen * 3).detach()
print("RESULT", json.dumps({"gx": gx.tolist(), "gw": gw.tolist(), "same": bool(torch.allclose(gx, x.grad)),
                            "z_grad": z.grad.tolist(), "first": first.tolist(), "doubled": doubled.tolist(),
                            "hook": collected, "v_grad": v.grad.tolist(), "d": [d.requires_grad, d.tolist()],
                            "grad_fn": loss.grad_fn is not None, "leaf": [x.is_leaf, z.is_leaf]}))
