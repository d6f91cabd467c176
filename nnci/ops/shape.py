"""Ops that move values without changing them: views, indexing, joining and padding.

Each backward routes the gradient back to where the value came from.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..backend import xp
from ..tensor import Function, Tensor, as_tensor


class Clone(Function):
    """y = x (a copy);  dx = g"""
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


class Reshape(Function):
    """y = x with a new shape;  dx = g with the old shape"""
    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    """y = x with dims reordered;  dx = g with the inverse order"""
    def forward(self, x, dims):
        self.inverse = tuple(int(i) for i in xp.argsort(dims))
        return x.transpose(dims)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class Expand(Function):
    """y = x broadcast to a shape;  dx = g summed back (done by the engine's unbroadcast)"""
    def forward(self, x, shape):
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return (g,)


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, xp.integer)) for i in items)


class Index(Function):
    """y = x[index];  dx = g scattered back to the indexed positions (summed where repeated)"""
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        dx = xp.zeros(self.shape, g.dtype)
        if _is_basic(self.index):
            dx[self.index] = g
        else:
            xp.add.at(dx, self.index, g)
        return (dx,)


class Cat(Function):
    """y = concatenation of the inputs along dim;  each input's grad is its slice of g"""
    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = xp.cumsum([0] + [a.shape[axis] for a in arrays])
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        grads = []
        for lo, hi in zip(self.bounds[:-1], self.bounds[1:]):
            index = [slice(None)] * g.ndim
            index[self.axis] = slice(int(lo), int(hi))
            grads.append(g[tuple(index)])
        return grads


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """x with a new shape of the same size (-1 infers one dim)"""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    target = [int(n) for n in shape]
    known = 1
    for n in target:
        known *= n if n != -1 else 1
    free = [i for i, n in enumerate(target) if n == -1]
    size = x.numel()
    if len(free) > 1 or (free and (known == 0 or size % known)) or (not free and known != size):
        raise ValueError(f"reshape: cannot view shape {x.shape} ({size} elements) as {tuple(shape)}")
    if free:
        target[free[0]] = size // known
    target = tuple(target)
    if target == x.shape:
        return x
    return Reshape.apply(x, shape=target)


def permute(x: Tensor, *dims: Any) -> Tensor:
    """x with its dims reordered"""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if sorted(d % x.ndim for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {tuple(dims)} is not an order of the {x.ndim} dims of shape {x.shape}")
    return Permute.apply(x, dims=tuple(d % x.ndim for d in dims))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """x with dims dim0 and dim1 swapped"""
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(x, dims=tuple(dims))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """x with dims start_dim..end_dim merged into one"""
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """x without size-1 dims (only `dim` when given)"""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = {d % x.ndim for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """x with a new size-1 dim at `dim`"""
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def expand(x: Tensor, *shape: Any) -> Tensor:
    """x broadcast to `shape` (-1 keeps a dim)"""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    lead = len(shape) - x.ndim
    target = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    try:
        xp.broadcast_shapes(x.shape, target)
    except ValueError:
        raise ValueError(f"expand: cannot expand shape {x.shape} to {target}") from None
    return Expand.apply(x, shape=target)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """the tensors joined along an existing dim"""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    first = tensors[0]
    axis = dim % first.ndim
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ValueError(f"cat along dim {dim}: shapes {first.shape} and {t.shape} differ outside that dim")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """the tensors joined along a new dim"""
    tensors = [as_tensor(t) for t in tensors]
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """x cut along dim into pieces of a size (last may be smaller) or of the listed sizes"""
    axis = dim % x.ndim
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of dim {dim} of {x.shape}")
    pieces, start = [], 0
    for size in sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + size)
        pieces.append(x[tuple(index)])
        start += size
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """x cut along dim into `chunks` nearly equal pieces"""
    size = -(-x.shape[dim] // chunks)
    return split(x, size, dim)


def flip(x: Tensor, dims: Any) -> Tensor:
    """x reversed along dims"""
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    index = [slice(None)] * x.ndim
    for d in dims:
        index[d] = slice(None, None, -1)
    return x[tuple(index)]


# ----- padding ----------------------------------------------------------------------------
def _source_positions(n: int, before: int, after: int, mode: str) -> Any:
    """For each padded position along one axis, the input position its value comes from."""
    positions = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    # reflect: mirror about the first and last samples, without repeating them
    period = 2 * (n - 1)
    folded = xp.abs(positions) % period if period else xp.zeros_like(positions)
    return xp.where(folded >= n, period - folded, folded)


class Pad(Function):
    """y = x padded;  dx = the interior of g (constant) or g summed onto each padded value's source"""
    def forward(self, x, widths, mode, value):
        self.widths, self.mode, self.shape = widths, mode, x.shape
        if mode == "constant":
            return xp.pad(x, widths, mode="constant", constant_values=value)
        y = x
        self.sources = []
        for axis, (before, after) in enumerate(widths):
            if before or after:
                src = _source_positions(x.shape[axis], before, after, mode)
                self.sources.append((axis, src))
                y = xp.take(y, src, axis=axis)
        return y

    def backward(self, g):
        if self.mode == "constant":
            index = tuple(slice(before, before + n) for (before, _), n in zip(self.widths, self.shape))
            return (g[index],)
        for axis, src in reversed(self.sources):
            n = self.shape[axis]
            before = self.widths[axis][0]
            # interior first, then add each border slice onto its source (borders are thin)
            moved = xp.moveaxis(g, axis, 0)
            dx = moved[before:before + n].copy()
            for p in list(range(before)) + list(range(before + n, len(src))):
                dx[src[p]] += moved[p]
            g = xp.moveaxis(dx, 0, axis)
        return (g,)


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """x padded by torch's `pad` tuple (last dim first: left, right, top, bottom, ...)"""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {tuple(pad)} must hold a (before, after) pair per dim, at most {x.ndim} dims")
    modes = ("constant", "reflect", "replicate", "circular")
    if mode not in modes:
        raise ValueError(f"pad: mode {mode!r} is not one of {modes}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for axis, (before, after) in enumerate(widths):
        if min(before, after) < 0:
            raise ValueError("pad: negative padding is not supported")
        if mode == "reflect" and max(before, after) >= x.shape[axis]:
            raise ValueError(f"pad: reflect padding of {max(before, after)} needs dim {axis} larger than that, "
                             f"input shape {x.shape}")
    return Pad.apply(x, widths=tuple(widths), mode=mode, value=value)
