"""torch.utils's namespace: data loading (nnci.utils.data), checkpoint, tensorboard-style logging."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
