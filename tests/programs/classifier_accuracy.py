"""Softmax classification over a DataLoader, with the accuracy line every tutorial has and boolean masks."""
import json

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(2)
centers = rng.standard_normal((3, 2)) * 3
labels = rng.integers(0, 3, 300)
points = (centers[labels] + rng.standard_normal((300, 2))).astype(np.float32)
X, y = torch.tensor(points), torch.tensor(labels)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=False)
model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)) * 0.5)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
history = []
for epoch in range(5):
    model.train()
    total, correct = 0.0, 0
    for batch, (xb, yb) in enumerate(loader):
        pred = model(xb)
        loss = loss_fn(pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        correct += (pred.argmax(1) == yb).type(torch.float).sum().item()
    history.append([round(total / len(loader.dataset), 5), correct])
model.eval()
with torch.no_grad():
    logits = model(X)
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    per_class = [X[y == k].mean(0).tolist() for k in range(3)]
    confident = (logits.softmax(1).max(1).values > 0.9).sum().item()
    _, top = torch.max(logits, 1)
print("RESULT", json.dumps({"history": history, "accuracy": accuracy, "per_class": per_class,
                            "confident": confident, "first": top[:10].tolist(), "batches": len(loader)}))
