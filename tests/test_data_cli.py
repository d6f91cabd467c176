"""Bundled data, the DataLoader, and the command line."""
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits as sklearn_digits

import nnci
from nnci.cli import main
from nnci.data import DataLoader, TensorDataset, load_digits, split_indices


def test_bundled_digits_equal_scikit_learns():
    images, labels = load_digits()
    reference = sklearn_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    np.testing.assert_array_equal(images[:, 0] * 16, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def test_split_is_fixed_disjoint_and_complete():
    train, test = split_indices(100, 0.2, seed=0)
    again_train, again_test = split_indices(100, 0.2, seed=0)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)
    assert len(test) == 20 and not set(train) & set(test) and len(set(train) | set(test)) == 100


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_partitions_each_epoch_randomly_and_reproducibly(drop_last):
    data = TensorDataset(np.arange(10), np.arange(10) * 2)
    loader = DataLoader(data, batch_size=3, shuffle=True, drop_last=drop_last, generator=nnci.Generator().manual_seed(4))
    epochs = [[b[0].detach().numpy().tolist() for b in loader] for _ in range(2)]
    assert len(loader) == (3 if drop_last else 4)
    for batches in epochs:
        flat = sum(batches, [])
        assert len(flat) == (9 if drop_last else 10) and len(set(flat)) == len(flat)
    assert epochs[0] != epochs[1]  # a new partition every epoch
    replay = DataLoader(data, batch_size=3, shuffle=True, drop_last=drop_last, generator=nnci.Generator().manual_seed(4))
    assert [b[0].detach().numpy().tolist() for b in replay] == epochs[0]
    for x, y in loader:
        np.testing.assert_array_equal(y.detach().numpy(), 2 * x.detach().numpy())


def test_demo_trains_to_high_accuracy(capsys):
    assert main(["demo", "--epochs", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.strip().splitlines()[-1].split()[2].rstrip("%"))
    assert accuracy > 95.0


def test_unknown_command_is_one_line_not_a_traceback():
    result = subprocess.run([sys.executable, "-m", "nnci.cli", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
    assert "invalid choice: 'frobnicate'" in result.stderr and "(see nnci --help)" in result.stderr
