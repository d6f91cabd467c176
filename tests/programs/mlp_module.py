"""A custom nn.Module trained with SGD (momentum, weight decay) and a step schedule; evaluation in eval mode."""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 16)
        self.norm = nn.BatchNorm1d(16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return self.out(F.relu(self.norm(self.hidden(x))))


rng = np.random.default_rng(1)
net = Net()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)) * 0.3)
x = torch.from_numpy(rng.standard_normal((64, 3)).astype(np.float32))
y = (x[:, :1] * 2 - x[:, 1:2] * x[:, 2:3]).detach()
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
criterion = nn.MSELoss()
losses = []
for epoch in range(30):
    net.train()
    optimizer.zero_grad()
    loss = criterion(net(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(round(loss.item(), 6))
net.eval()
with torch.no_grad():
    prediction = net(x[:5]).squeeze(1)
print(net)
print("RESULT", json.dumps({"losses": losses, "prediction": prediction.tolist(), "lr": scheduler.get_last_lr(),
                            "running_mean": net.norm.running_mean[:4].tolist(),
                            "batches": int(net.norm.num_batches_tracked), "params": sum(p.numel() for p in
                                                                                        net.parameters())}))
