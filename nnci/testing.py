"""torch.testing.assert_close for nnci tensors."""
from __future__ import annotations

from typing import Any

from .backend import xp

_DEFAULT = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


def assert_close(actual: Any, expected: Any, *, rtol: float | None = None, atol: float | None = None,
                 equal_nan: bool = False, check_dtype: bool = True, msg: str | None = None, **ignored: Any) -> None:
    """Raise AssertionError unless |actual - expected| <= atol + rtol |expected| everywhere (torch's defaults)."""
    a = xp.asarray(getattr(actual, "_array", actual))
    b = xp.asarray(getattr(expected, "_array", expected))
    if a.shape != b.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {tuple(a.shape)} != {tuple(b.shape)}.")
    if check_dtype and a.dtype != b.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {a.dtype} != {b.dtype}.")
    default = _DEFAULT.get(a.dtype.name, (0.0, 0.0))
    rtol = default[0] if rtol is None else rtol
    atol = default[1] if atol is None else atol
    if not xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        worst = float(xp.max(xp.abs(a.astype(xp.float64) - b.astype(xp.float64)))) if a.size else 0.0
        raise AssertionError(msg or f"Tensor-likes are not close! Greatest absolute difference: {worst} (up to {atol} "
                             f"allowed), relative tolerance {rtol}")
