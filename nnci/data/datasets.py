"""Bundled datasets.

digits.npz holds the 1,797 8x8 handwritten digits (values 0..16) of the UCI "Optical Recognition
of Handwritten Digits" set (Alpaydin & Kaynak, 1998; CC BY 4.0) as scikit-learn ships them in
`sklearn.datasets.load_digits`; bundling them keeps scikit-learn out of the runtime dependencies.
"""
from __future__ import annotations

from importlib import resources

from ..backend import xp


def load_digits() -> tuple[xp.ndarray, xp.ndarray]:
    """The digits as (images float32 in [0, 1] of shape (1797, 1, 8, 8), labels int64 of shape (1797,))."""
    with resources.files(__package__).joinpath("digits.npz").open("rb") as handle:
        with xp.load(handle, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
    return (images[:, None].astype(xp.float32) / 16.0), labels.astype(xp.int64)


def split_indices(n: int, test_fraction: float = 0.2, seed: int = 0) -> tuple[xp.ndarray, xp.ndarray]:
    """A fixed, seeded (train, test) split of range(n): the same seed always gives the same split."""
    order = xp.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return xp.sort(order[n_test:]), xp.sort(order[:n_test])
