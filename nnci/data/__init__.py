"""Data that needs no download and the loader that batches it (noise models live in nnci.physics)."""
from .datasets import load_digits, split_indices
from .inspection import CATEGORIES, DEFECTS, inspection_dataset, inspection_sample, load_inspection_folder
from ..utils.data import DataLoader, TensorDataset
from .patches import dihedral, random_patches
from .photos import PHOTOS, TEST_PHOTOS, TRAIN_PHOTOS, load_photo, load_photos
from .shapes import synthetic_shapes

__all__ = ["load_digits", "split_indices", "DataLoader", "TensorDataset", "dihedral", "random_patches", "PHOTOS", "TEST_PHOTOS", "TRAIN_PHOTOS", "load_photo", "load_photos",
           "synthetic_shapes", "CATEGORIES", "DEFECTS", "inspection_dataset", "inspection_sample", "load_inspection_folder"]
