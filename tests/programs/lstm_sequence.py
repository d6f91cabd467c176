"""An LSTM reads noisy sine sequences and predicts the next value (batch_first, two layers), trained with RMSprop."""
import json

import numpy as np
import torch
import torch.nn as nn


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=6, num_layers=2, batch_first=True)
        self.head = nn.Linear(6, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1, :]), h, c


rng = np.random.default_rng(8)
t = np.linspace(0, 4 * np.pi, 13)
phases = rng.uniform(0, 2 * np.pi, (10, 1))
series = np.sin(t[None, :] + phases).astype(np.float32)
x = torch.from_numpy(series[:, :-1, None])
y = torch.from_numpy(series[:, -1:])
model = Forecaster()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
losses = []
for step in range(6):
    prediction, h, c = model(x)
    loss = ((prediction - y) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(round(loss.item(), 6))
gru = nn.GRU(3, 4, bidirectional=True)
with torch.no_grad():
    for p in gru.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
out, hidden = gru(torch.from_numpy(rng.standard_normal((5, 2, 3)).astype(np.float32)))
print("RESULT", json.dumps({"losses": losses, "h_shape": list(h.shape), "c_mean": c.mean().item(),
                            "gru": [list(out.shape), list(hidden.shape), out.sum().item()],
                            "names": [n for n, _ in model.lstm.named_parameters()]}))
