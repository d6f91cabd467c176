"""torch.utils's namespace: data loading (nnci.utils.data)."""
from . import data

__all__ = ["data"]
