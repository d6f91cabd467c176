"""A small CNN (conv, batch norm, max pooling, dropout, linear) trained with Adam, then evaluated."""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1, bias=False)
        self.dropout = nn.Dropout(p=0.0)
        self.fc = nn.Linear(8 * 2 * 2, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.leaky_relu(self.conv2(x), 0.1)
        x = torch.flatten(x, 1)
        return self.fc(self.dropout(x))


rng = np.random.default_rng(6)
model = SmallCNN()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)) * 0.4)
images = torch.from_numpy(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
targets = torch.from_numpy(rng.integers(0, 3, 16))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-4)
losses = []
for step in range(8):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), targets, label_smoothing=0.1)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
    optimizer.step()
    losses.append(round(loss.item(), 5))
model.eval()
with torch.no_grad():
    probabilities = F.softmax(model(images[:4]), dim=1)
print("RESULT", json.dumps({"losses": losses, "probabilities": probabilities.tolist(),
                            "names": [n for n, _ in model.named_parameters()],
                            "shapes": [list(p.shape) for p in model.parameters()]}))
