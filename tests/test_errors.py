"""Mistakes a user makes get errors that name the operation and the shapes involved."""
import numpy as np
import pytest

import nnci
import nnci.nn as nn
import nnci.nn.functional as F


def test_linear_shape_mismatch_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*input shape \(2, 3\).*weight shape \(5, 4\)"):
        nn.Linear(4, 5)(nnci.zeros(2, 3))


def test_matmul_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)"):
        nnci.zeros(2, 3) @ nnci.zeros(4, 5)


def test_conv_wrong_channels_says_expected_and_got():
    with pytest.raises(ValueError, match=r"expected input \(N, 3, H, W\), got shape \(1, 4, 8, 8\) \(4 channels\)"):
        nn.Conv2d(3, 8, 3)(nnci.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match="expected input with 3 channels, got 2"):
        F.conv2d(nnci.zeros(1, 2, 8, 8), nnci.zeros(4, 3, 3, 3))
    with pytest.raises(ValueError, match="smaller than the 5x5 kernel"):
        F.conv2d(nnci.zeros(1, 1, 3, 3), nnci.zeros(1, 1, 5, 5))


def test_error_inside_sequential_names_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ValueError, match=r"in layer \(2\) Linear"):
        model(nnci.zeros(1, 1, 6, 6))


def test_cat_and_stack_name_shapes():
    with pytest.raises(ValueError, match=r"cat along dim 0: shapes \(2, 3\) and \(2, 4\)"):
        nnci.cat([nnci.zeros(2, 3), nnci.zeros(2, 4)])
    with pytest.raises(ValueError, match="stack needs tensors of one shape"):
        nnci.stack([nnci.zeros(2), nnci.zeros(3)])


def test_reshape_and_losses_name_shapes():
    with pytest.raises(ValueError, match=r"cannot view shape \(2, 3\) \(6 elements\) as \(4, -1\)"):
        nnci.zeros(2, 3).reshape(4, -1)
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(2, 3\) and target shape \(3, 2\)"):
        F.mse_loss(nnci.zeros(2, 3), nnci.zeros(3, 2))
    with pytest.raises(ValueError, match="outside \\[0, 3\\)"):
        F.cross_entropy(nnci.zeros(2, 3), np.array([0, 3]))
    with pytest.raises(TypeError, match="class indices"):
        F.cross_entropy(nnci.zeros(2, 3), np.array([0.0, 1.0]))


def test_inplace_change_of_a_leaf_needs_no_grad():
    p = nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="no_grad"):
        p.fill_(1)
    with nnci.no_grad():
        p.fill_(1)
    assert p.numpy().tolist() == [1, 1, 1]


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="reflect padding of 3"):
        F.pad(nnci.zeros(1, 1, 3, 3), (3, 3), mode="reflect")
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(nnci.zeros(1, 1, 3, 3), nnci.zeros(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="Nesterov"):
        nnci.optim.SGD([nn.Parameter(np.zeros(1, np.float32))], lr=0.1, nesterov=True)
