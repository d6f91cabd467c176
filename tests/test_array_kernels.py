"""Array kernels behind the ops, against the plain NumPy expression they replace."""
import numpy as np
import pytest

from nnci.ops.activation import relu_array


@pytest.mark.parametrize("layout", ["0-d", "1-d", "2-d", "4-d", "4-d transposed", "4-d float64", "block in place"])
def test_relu_array_equals_maximum_with_zero(layout):
    """relu_array (a broadcast zero row instead of NumPy's slow scalar loop) gives max(x, 0) bit for bit, NaN kept,
    into `out` when given, whatever the array's layout."""
    rng = np.random.default_rng(len(layout))
    shapes = {"0-d": (), "1-d": (7,), "2-d": (5, 9), "4-d": (2, 3, 4, 5), "4-d transposed": (3, 2, 5, 4),
              "4-d float64": (2, 3, 4, 5), "block in place": (4, 20)}
    x = rng.standard_normal(shapes[layout]).astype(np.float64 if "float64" in layout else np.float32)
    if x.ndim:
        x.flat[::3] = np.nan
    if layout == "4-d transposed":
        x = x.transpose(1, 0, 3, 2)
    expected = np.maximum(x, 0)
    if layout == "block in place":  # a column block of a wider array, as the grid GEMM's epilogue passes it
        block = x[:, 5:13]
        expected = x.copy()
        expected[:, 5:13] = np.maximum(block, 0)
        assert relu_array(block, out=block) is not None
        np.testing.assert_array_equal(x, expected)
        return
    result = relu_array(x)
    assert result.shape == x.shape and result.dtype == x.dtype
    np.testing.assert_array_equal(result, expected)
