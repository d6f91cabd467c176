"""A custom Dataset returning numpy arrays and Python numbers, collated by the DataLoader; random_split."""
import json

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, random_split


class Squares(Dataset):
    def __init__(self, n):
        self.values = np.arange(n, dtype=np.float32)

    def __len__(self):
        return len(self.values)

    def __getitem__(self, index):
        v = self.values[index]
        return np.array([v, v * v], dtype=np.float32), float(v) / 2, int(index % 3), {"name": f"item{index}"}


dataset = Squares(10)
loader = DataLoader(dataset, batch_size=4, shuffle=False)
batches = []
for features, halves, classes, info in loader:
    batches.append([list(features.shape), str(features.dtype).split(".")[-1], halves.tolist(),
                    str(halves.dtype).split(".")[-1], classes.tolist(), str(classes.dtype).split(".")[-1],
                    info["name"]])
train, test = random_split(dataset, [7, 3], generator=torch.Generator().manual_seed(42))
sizes = [len(train), len(test), len(set(train.indices) | set(test.indices))]
drop = DataLoader(dataset, batch_size=4, drop_last=True)
print("RESULT", json.dumps({"batches": batches, "sizes": sizes, "drop": len(drop), "full": len(loader)}))
