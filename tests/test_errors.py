"""Mistakes a user makes get errors of torch's types that name the operation, the layer and the shapes involved."""
import numpy as np
import pytest

import nnci
import nnci.nn as nn
import nnci.nn.functional as F


def test_linear_shape_mismatch_names_layer_and_shapes():
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=4.*input of shape \(2, 3\).*\(2x3 and 4x5\)"):
        nn.Linear(4, 5)(nnci.zeros(2, 3))


def test_matmul_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        nnci.zeros(2, 3) @ nnci.zeros(4, 5)


def test_conv_wrong_channels_says_expected_and_got():
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 8.*expected input\[1, 4, 8, 8\] to have 3 channels, but got 4"):
        nn.Conv2d(3, 8, 3)(nnci.zeros(1, 4, 8, 8))
    with pytest.raises(RuntimeError, match="to have 3 channels, but got 2 channels"):
        F.conv2d(nnci.zeros(1, 2, 8, 8), nnci.zeros(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"padded input size per channel: \(3 x 3\). Kernel size: \(5 x 5\)"):
        F.conv2d(nnci.zeros(1, 1, 3, 3), nnci.zeros(1, 1, 5, 5))


def test_error_inside_sequential_names_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=10.*\(1, 64\)") as error:
        model(nnci.zeros(1, 1, 6, 6))
    assert "in layer (2) Linear" in "".join(error.value.__notes__)


def test_cat_and_stack_name_shapes():
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0.*\(2, 3\) and \(2, 4\)"):
        nnci.cat([nnci.zeros(2, 3), nnci.zeros(2, 4)])
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0 and "
                                           r"\[3\] at entry 1"):
        nnci.stack([nnci.zeros(2), nnci.zeros(3)])


def test_reshape_and_losses_name_shapes():
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 6"):
        nnci.zeros(2, 3).reshape(4, -1)
    with pytest.raises(RuntimeError, match=r"mse_loss.*input shape \(2, 3\), target shape \(3, 2\)"):
        with pytest.warns(UserWarning, match="different to the input size"):
            F.mse_loss(nnci.zeros(2, 3), nnci.zeros(3, 2))
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(nnci.zeros(2, 3), np.array([0, 3]))
    with pytest.raises(RuntimeError, match=r"class probabilities need the input's shape \(2, 3\)"):
        F.cross_entropy(nnci.zeros(2, 3), np.array([0.0, 1.0]))


def test_inplace_change_of_a_leaf_needs_no_grad():
    p = nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        p.fill_(1)
    with nnci.no_grad():
        p.fill_(1)
    assert p.detach().numpy().tolist() == [1, 1, 1]


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="reflect padding of 3"):
        F.pad(nnci.zeros(1, 1, 3, 3), (3, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(nnci.zeros(1, 1, 3, 3), nnci.zeros(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="Nesterov"):
        nnci.optim.SGD([nn.Parameter(np.zeros(1, np.float32))], lr=0.1, nesterov=True)
