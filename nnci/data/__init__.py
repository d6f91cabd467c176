"""Data that needs no download, the loader that batches it, and noise models."""
from .datasets import load_digits, split_indices
from .inspection import CATEGORIES, inspection_dataset, load_inspection_folder
from ..utils.data import DataLoader, TensorDataset
from .noise import gaussian_noise, poisson_gaussian_noise
from .patches import dihedral, random_patches
from .photos import PHOTOS, TEST_PHOTOS, TRAIN_PHOTOS, load_photo, load_photos
from .shapes import synthetic_shapes

__all__ = ["load_digits", "split_indices", "DataLoader", "TensorDataset", "gaussian_noise", "poisson_gaussian_noise",
           "dihedral", "random_patches", "PHOTOS", "TEST_PHOTOS", "TRAIN_PHOTOS", "load_photo", "load_photos",
           "synthetic_shapes", "CATEGORIES", "inspection_dataset", "load_inspection_folder"]
