"""Save a checkpoint dict mid-training, load it into fresh objects and continue: the same as training straight."""
import copy
import json
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(7)
data = torch.from_numpy(rng.standard_normal((32, 4)).astype(np.float32))
target = data.sum(1, keepdim=True) ** 2


def make():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    values = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(values.standard_normal(tuple(p.shape)).astype(np.float32)) * 0.5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, amsgrad=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    return model, optimizer, scheduler


def train(model, optimizer, scheduler, steps):
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return loss


model, optimizer, scheduler = make()
loss = train(model, optimizer, scheduler, 4)
folder = tempfile.mkdtemp()
path = os.path.join(folder, "checkpoint.pth")
torch.save({"epoch": 4, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
            "scheduler_state_dict": scheduler.state_dict(), "loss": loss}, path)
best = copy.deepcopy(model.state_dict())
train(model, optimizer, scheduler, 4)
straight = [v.flatten().tolist() for v in model.state_dict().values()]

model, optimizer, scheduler = make()
checkpoint = torch.load(path, weights_only=False)
model.load_state_dict(checkpoint["model_state_dict"])
optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
train(model, optimizer, scheduler, 4)
resumed = [v.flatten().tolist() for v in model.state_dict().values()]
model.load_state_dict(best)
print("RESULT", json.dumps({"same": straight == resumed, "epoch": checkpoint["epoch"],
                            "loss": checkpoint["loss"].item(), "best": [v.flatten().tolist() for v in
                                                                        model.state_dict().values()][0][:4],
                            "lr": optimizer.param_groups[0]["lr"]}))
