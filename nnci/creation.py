"""Tensor constructors with torch's names, signatures and dtype rules, and the random draws.

Sizes are given as arguments or as one sequence (zeros(2, 3) or zeros((2, 3))); `device` takes 'cpu' only;
random draws use `generator` or the default generator (seeded by nnci.manual_seed).
"""
from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

from . import dtypes
from .backend import Generator, generator as numpy_generator, xp
from .device import check_device
from .tensor import Size, Tensor, to_array


def _size(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = n.item()
        if not isinstance(n, (int, xp.integer)) or isinstance(n, bool):
            raise TypeError(f"size must be a sequence of ints, got {type(n).__name__} {n!r}")
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(size)}")
        out.append(int(n))
    return tuple(out)


def _float(dtype: Any) -> Any:
    return dtypes.get_default_dtype().dtype if dtype is None else dtypes.as_dtype(dtype).dtype


def _made(array: Any, requires_grad: bool, device: Any) -> Tensor:
    check_device(device)
    tensor = Tensor._wrap(array)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (float32 for Python floats, int64 for ints, as torch)."""
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() or "
                      "sourceTensor.clone().detach().requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    array = xp.array(to_array(data, dtype), copy=True)
    return _made(array, requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """data as a tensor, sharing memory with a tensor or NumPy array of the same dtype (no copy)."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    array = to_array(data, dtype)
    return Tensor._wrap(array)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """obj as a tensor, sharing memory unless copy=True or a conversion is needed."""
    result = as_tensor(obj, dtype, device)
    if copy:
        result = Tensor._wrap(result._array.copy())
    if requires_grad:
        result.requires_grad_(True)
    return result


def from_numpy(array: Any) -> Tensor:
    """A tensor sharing the NumPy array's memory: changes to one show in the other."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._wrap(to_array(array))


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _made(xp.asarray(s, dtype=_float(dtype)), requires_grad, device)


def zeros(*size: Any, out: Any = None, dtype: Any = None, layout: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (default float dtype)."""
    return _made(xp.zeros(_size(size), _float(dtype)), requires_grad, device)


def ones(*size: Any, out: Any = None, dtype: Any = None, layout: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones (default float dtype)."""
    return _made(xp.ones(_size(size), _float(dtype)), requires_grad, device)


def empty(*size: Any, out: Any = None, dtype: Any = None, layout: Any = None, device: Any = None,
          requires_grad: bool = False, pin_memory: bool = False, memory_format: Any = None) -> Tensor:
    """A tensor of the size (its values are unspecified in torch; nnci fills zeros, so runs repeat exactly)."""
    return _made(xp.zeros(_size(size), _float(dtype)), requires_grad, device)


def _fill_dtype(value: Any, dtype: Any) -> Any:
    if dtype is not None:
        return dtypes.as_dtype(dtype).dtype
    if isinstance(value, Tensor):
        return value._array.dtype
    if isinstance(value, bool):
        return xp.bool_
    if isinstance(value, int):
        return xp.int64
    return dtypes.default_numpy()


def full(size: Sequence[int], fill_value: Any, *, out: Any = None, dtype: Any = None, layout: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the size filled with fill_value (int64 for an int, bool for a bool, else the default float)."""
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return _made(xp.full(_size((size,) if isinstance(size, int) else (tuple(size),)), value,
                         _fill_dtype(fill_value, dtype)), requires_grad, device)


def _like(input: Tensor, dtype: Any) -> Any:
    return input._array.dtype if dtype is None else dtypes.as_dtype(dtype).dtype


def zeros_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _made(xp.zeros(input._array.shape, _like(input, dtype)), requires_grad, device)


def ones_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _made(xp.ones(input._array.shape, _like(input, dtype)), requires_grad, device)


def empty_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _made(xp.full(input._array.shape, fill_value, _like(input, dtype)), requires_grad, device)


# ----- random draws ----------------------------------------------------------------------------------------
def _random_float(shape: tuple, dtype: Any) -> Any:
    kind = xp.dtype(dtype)
    if kind.kind != "f":
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for '{kind}'")
    return kind


def rand(*size: Any, generator: Generator | None = None, out: Any = None, dtype: Any = None, layout: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    shape, kind = _size(size), _random_float((), _float(dtype))
    draw = numpy_generator(generator).random(shape, dtype=kind if kind in (xp.float32, xp.float64) else xp.float64)
    return _made(draw.astype(kind, copy=False), requires_grad, device)


def randn(*size: Any, generator: Generator | None = None, out: Any = None, dtype: Any = None, layout: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    shape, kind = _size(size), _random_float((), _float(dtype))
    draw = numpy_generator(generator).standard_normal(shape, dtype=kind if kind in (xp.float32, xp.float64) else
                                                      xp.float64)
    return _made(draw.astype(kind, copy=False), requires_grad, device)


def randint(*args: Any, size: Any = None, generator: Generator | None = None, out: Any = None, dtype: Any = None,
            layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform integers in [low, high): randint(high, size) or randint(low, high, size)."""
    args = list(args)
    if size is None:
        if not args:
            raise TypeError("randint() missing required argument 'size'")
        size = args.pop()
    low, high = (0, args[0]) if len(args) == 1 else tuple(args)
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    kind = xp.int64 if dtype is None else dtypes.as_dtype(dtype).dtype
    draw = numpy_generator(generator).integers(int(low), int(high), _size((size,) if isinstance(size, int) else
                                                                          (tuple(size),)))
    return _made(draw.astype(kind), requires_grad, device)


def randperm(n: int, *, generator: Generator | None = None, out: Any = None, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1."""
    kind = xp.int64 if dtype is None else dtypes.as_dtype(dtype).dtype
    return _made(numpy_generator(generator).permutation(int(n)).astype(kind), requires_grad, device)


def rand_like(input: Tensor, *, dtype: Any = None, generator: Generator | None = None, device: Any = None,
              requires_grad: bool = False, **ignored: Any) -> Tensor:
    return rand(input._array.shape, dtype=_like(input, dtype), generator=generator, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, generator: Generator | None = None, device: Any = None,
               requires_grad: bool = False, **ignored: Any) -> Tensor:
    return randn(input._array.shape, dtype=_like(input, dtype), generator=generator, requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None,
                 generator: Generator | None = None, **ignored: Any) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input._array.shape, dtype=_like(input, dtype), generator=generator)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None,
           out: Any = None, dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples: normal(mean, std, size), or elementwise means and stds from tensors."""
    draws = numpy_generator(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._array if isinstance(mean, Tensor) else mean
        s = std._array if isinstance(std, Tensor) else std
        like = (mean if isinstance(mean, Tensor) else std)._array.dtype
        shape = xp.broadcast_shapes(xp.shape(m), xp.shape(s))
        return _made((m + s * draws.standard_normal(shape)).astype(like), requires_grad, device)
    if size is None:
        raise TypeError("normal() with float mean and std needs size")
    shape = _size((size,) if isinstance(size, int) else (tuple(size),))
    kind = _float(dtype)
    return _made((mean + std * draws.standard_normal(shape)).astype(kind), requires_grad, device)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """1 with probability input (or p), else 0, elementwise."""
    probability = input._array if p is None else p
    draw = numpy_generator(generator).random(input._array.shape) < probability
    return Tensor._wrap(draw.astype(input._array.dtype))


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with the rates in input."""
    return Tensor._wrap(numpy_generator(generator).poisson(input._array).astype(input._array.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices drawn with the (unnormalised) weights of each row of input."""
    weights = input._array.astype(xp.float64)
    rows = weights.reshape(-1, weights.shape[-1])
    draws = numpy_generator(generator)
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if (rows < 0).any() or not xp.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    picks = []
    for row in rows:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        picks.append(draws.choice(row.size, size=num_samples, replace=replacement, p=row / total))
    out = xp.asarray(picks, dtype=xp.int64)
    return Tensor._wrap(out.reshape(weights.shape[:-1] + (num_samples,)))


# ----- ranges -------------------------------------------------------------------------------------------
def arange(start: Any = 0, end: Any = None, step: Any = 1, *, out: Any = None, dtype: Any = None,
           layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else the default float dtype."""
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if values[2] == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, (int, xp.integer)) and not isinstance(v, bool) for v in values)
        kind = xp.dtype(xp.int64) if is_int else dtypes.default_numpy()
    else:
        kind = dtypes.as_dtype(dtype).dtype
    count = max(0, math.ceil((values[1] - values[0]) / values[2]))
    array = (values[0] + values[2] * xp.arange(count, dtype=xp.float64)).astype(kind) if kind.kind == "f" else \
        xp.arange(values[0], values[1], values[2]).astype(kind)
    return _made(array, requires_grad, device)


def range_(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """torch.range (deprecated): like arange but including end, default float dtype."""
    if end is None:
        start, end = 0, start
    count = int(math.floor((end - start) / step)) + 1
    array = (start + step * xp.arange(count, dtype=xp.float64)).astype(_float(dtype))
    return _made(array, requires_grad, device)


def linspace(start: Any, end: Any, steps: int, *, out: Any = None, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """`steps` values from start to end inclusive, evenly spaced."""
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    return _made(evenly_spaced(start, end, int(steps), _float(dtype)), requires_grad, device)


def evenly_spaced(start: float, end: float, steps: int, dtype: Any) -> Any:
    """torch's linspace, bit for bit: step = (end - start) / (steps - 1) in `dtype`; the first half start + i step,
    the second half end - (steps - 1 - i) step, each a fused multiply-add (one rounding, emulated in a wider type)."""
    kind = xp.dtype(dtype)
    if kind.kind != "f":
        return xp.linspace(start, end, steps).astype(kind)
    if steps == 1:
        return xp.asarray([start], kind)
    step = (kind.type(end) - kind.type(start)) / kind.type(steps - 1)
    wide = xp.longdouble if kind == xp.float64 else xp.float64
    index = xp.arange(steps)
    half = steps // 2
    up = wide(kind.type(start)) + wide(step) * index[:half].astype(wide)
    down = wide(kind.type(end)) - wide(step) * (steps - 1 - index[half:]).astype(wide)
    return xp.concatenate([up.astype(kind), down.astype(kind)])


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, **ignored: Any) -> Tensor:
    """base^linspace(start, end, steps)."""
    return _made(xp.logspace(start, end, int(steps), base=base).astype(_float(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, *, out: Any = None, dtype: Any = None, layout: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix."""
    return _made(xp.eye(n, m, dtype=_float(dtype)), requires_grad, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None, **ignored: Any) -> Tensor:
    rows, cols = xp.tril_indices(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(xp.int64))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None, **ignored: Any) -> Tensor:
    rows, cols = xp.triu_indices(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(xp.int64))


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def new(self: Tensor, *args: Any, device: Any = None) -> Tensor:
    """The legacy constructor: x.new(sizes...) is uninitialised, x.new(data) copies data; both in x's dtype."""
    if not args:
        return empty(0, dtype=self.dtype)
    if len(args) == 1 and not isinstance(args[0], (builtins.int, Size)) and not (
            isinstance(args[0], Tensor) and args[0].ndim == 0 and args[0].dtype.kind in "iu"):
        return tensor(args[0], dtype=self.dtype)
    return empty(*args, dtype=self.dtype)


def new_zeros(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_ones(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_empty(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_full(self: Tensor, size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)
