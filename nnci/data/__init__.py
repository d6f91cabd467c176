"""Data that needs no download, and the loader that batches it."""
from .datasets import load_digits, split_indices
from .loader import DataLoader, TensorDataset

__all__ = ["load_digits", "split_indices", "DataLoader", "TensorDataset"]
