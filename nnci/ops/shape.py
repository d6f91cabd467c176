"""Ops that move values without changing them: views, indexing, joining, gathering and padding.

Each backward routes the gradient back to where the value came from. Views (reshape, permute, expand,
basic indexing and what is built on them: transpose, squeeze, split, narrow, select, ...) share the
input's memory, as in torch; flip, roll, repeat, advanced indexing and cat copy.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

from .. import dtypes
from ..autograd.graph import Op, apply_inplace
from ..backend import xp
from ..tensor import Size, Tensor, to_array
from .elementwise import as_operand, constant


def _shape_args(shape: Sequence[Any]) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        return tuple(shape[0])
    return tuple(shape)


class Clone(Op):
    """y = x (a copy);  dx = g"""
    saved_inputs = ()

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)

    vjp = backward


class Reshape(Op):
    """y = x with a new shape (a view when the memory allows);  dx = g with the old shape"""
    node_name = "ViewBackward0"
    saved_inputs, is_view = (), True

    @staticmethod
    def view(x, shape):
        return x.reshape(shape)

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)

    vjp = backward


class Permute(Op):
    """y = x with dims reordered (a view);  dx = g with the inverse order"""
    saved_inputs, is_view = (), True

    @staticmethod
    def view(x, dims):
        return x.transpose(dims)

    def forward(self, x, dims):
        self.inverse = tuple(int(i) for i in xp.argsort(dims))
        return x.transpose(dims)

    def backward(self, g):
        return (g.transpose(self.inverse),)

    def vjp(self, g):
        return (g.permute(self.inverse),)


class Expand(Op):
    """y = x broadcast to a shape (a read-only view);  dx = g summed back (by the engine's unbroadcast)"""
    saved_inputs, is_view = (), True

    @staticmethod
    def view(x, shape):
        return xp.broadcast_to(x, shape)

    def forward(self, x, shape):
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return (g,)

    vjp = backward


def is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return builtins.all(i is None or i is Ellipsis or isinstance(i, (int, slice, xp.integer)) and
                        not isinstance(i, bool) for i in items)


class BasicIndex(Op):
    """y = x[ints, slices, None, ...] (a view);  dx = g placed back at the indexed positions"""
    saved_inputs, is_view = (), True

    @staticmethod
    def view(x, index):
        return x[index]

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, g):
        dx = xp.zeros(self.shape, g.dtype)
        dx[self.index] = g
        return (dx,)

    def vjp(self, g):
        return (IndexPut.apply(Tensor._wrap(xp.zeros(self.shape, g._array.dtype)), g, index=self.index),)


class AdvancedIndex(Op):
    """y = x[integer or boolean arrays] (a copy);  dx = g added back at the indexed positions (summed where repeated)"""
    node_name = "IndexBackward0"
    saved_inputs = ()

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, g):
        dx = xp.zeros(self.shape, g.dtype)
        xp.add.at(dx, self.index, g)
        return (dx,)

    def vjp(self, g):
        zeros = Tensor._wrap(xp.zeros(self.shape, g._array.dtype))
        return (IndexPut.apply(zeros, g, index=self.index, accumulate=True),)


class IndexPut(Op):
    """x[index] = v (accumulate: x[index] += v, repeated indices adding up), in place;
    dx = g with the indexed positions zeroed (accumulate: g), dv = g[index]"""
    saved_inputs = ()

    def forward(self, x, value, index, accumulate=False):
        out = x.copy()
        self.forward_into(out, value, index, accumulate)
        return out

    def forward_into(self, x, value, index, accumulate=False):
        self.index, self.accumulate = index, accumulate
        if accumulate:
            xp.add.at(x, index, value)
        else:
            x[index] = value

    def backward(self, g):
        dx = None
        if self.needs_input_grad[0]:
            dx = g if self.accumulate else g.copy()
            if not self.accumulate:
                dx[self.index] = 0
        return dx, (g[self.index] if self.needs_input_grad[1] else None)

    def vjp(self, g):
        dx = None
        if self.needs_input_grad[0]:
            dx = g if self.accumulate else IndexPut.apply(g, Tensor._wrap(xp.zeros((), g._array.dtype)),
                                                          index=self.index)
        return dx, (AdvancedIndex.apply(g, index=self.index) if self.needs_input_grad[1] else None)


class Cat(Op):
    """y = the inputs joined along dim;  each input's grad is its slice of g"""
    saved_inputs = ()

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = [0]
        for a in arrays:
            self.bounds.append(self.bounds[-1] + a.shape[axis])
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        grads = []
        for lo, hi in zip(self.bounds[:-1], self.bounds[1:]):
            index = [slice(None)] * g.ndim
            index[self.axis] = slice(lo, hi)
            grads.append(g[tuple(index)])
        return grads

    vjp = backward


class Stack(Op):
    """y = the inputs stacked along a new dim;  each input's grad is its slice of g"""
    saved_inputs = ()

    def forward(self, *arrays, axis):
        self.axis = axis
        return xp.stack(arrays, axis=axis)

    def backward(self, g):
        return [xp.take(g, i, axis=self.axis) for i in range(g.shape[self.axis])]

    def vjp(self, g):
        return [g.select(self.axis, i) for i in range(g.shape[self.axis])]


class Flip(Op):
    """y = x reversed along dims (a copy, as torch);  dx = g reversed back"""
    saved_inputs = ()

    def forward(self, x, axes):
        self.axes = axes
        return xp.flip(x, axes).copy()

    def backward(self, g):
        return (xp.flip(g, self.axes),)

    def vjp(self, g):
        return (g.flip(self.axes),)


class Roll(Op):
    """y = x shifted cyclically along dims;  dx = g shifted back"""
    saved_inputs = ()

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return xp.roll(x, shifts, axes)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (xp.roll(g, back, self.axes),)

    def vjp(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (g.roll(back, self.axes),)


class Tile(Op):
    """y = x repeated reps times per dim (torch's repeat);  dx = the sum of g over the copies"""
    saved_inputs = ()

    def forward(self, x, reps):
        self.shape = (1,) * (len(reps) - x.ndim) + x.shape
        self.reps = reps
        return xp.tile(x.reshape(self.shape), reps)

    def backward(self, g):
        split = []
        for r, n in zip(self.reps, self.shape):
            split += [r, n]
        summed = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed,)

    def vjp(self, g):
        split = []
        for r, n in zip(self.reps, self.shape):
            split += [r, n]
        return (g.reshape(tuple(split)).sum(dim=tuple(range(0, len(split), 2))),)


class RepeatInterleave(Op):
    """y = each element (or slice along dim) repeated;  dx = the sum of g over each element's copies"""
    saved_inputs = ()

    def forward(self, x, repeats, axis):
        self.axis, self.repeats, self.length = axis, repeats, x.shape[axis]
        return xp.repeat(x, repeats, axis=axis)

    def backward(self, g):
        counts = xp.broadcast_to(xp.asarray(self.repeats), (self.length,))
        starts = xp.concatenate([[0], xp.cumsum(counts)[:-1]]).astype(xp.int64)
        summed = xp.add.reduceat(g, starts, axis=self.axis) if g.shape[self.axis] else g
        empty = counts == 0
        if empty.any():
            summed = summed.copy()
            index = [slice(None)] * g.ndim
            index[self.axis] = xp.nonzero(empty)[0]
            summed[tuple(index)] = 0
        return (summed,)


def _gather_index(index: Any, axis: int) -> tuple:
    """Index arrays that pick x[..., index[i, j, ...], ...] with index along `axis` (torch.gather's addressing)."""
    grid = list(xp.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


class Gather(Op):
    """y[i][j] = x[i][index[i][j]] along dim;  dx = g added back at the gathered positions"""
    saved_inputs = ()

    def forward(self, x, index, axis):
        self.shape, self.where = x.shape, _gather_index(index, axis)
        return x[self.where]

    def backward(self, g):
        dx = xp.zeros(self.shape, g.dtype)
        xp.add.at(dx, self.where, g)
        return (dx,)

    def vjp(self, g):
        zeros = Tensor._wrap(xp.zeros(self.shape, g._array.dtype))
        return (IndexPut.apply(zeros, g, index=self.where, accumulate=True),)


class Scatter(Op):
    """y = x with y[i][index[i][j]] = src[i][j] (add: += src);  dx = g (zeroed where overwritten), dsrc = g gathered"""
    saved_inputs = ()

    def forward(self, x, src, index, axis, add):
        self.where, self.add, self.src_shape = _gather_index(index, axis), add, src.shape
        out = x.copy()
        region = tuple(slice(0, n) for n in index.shape)
        values = xp.broadcast_to(src, index.shape) if src.ndim == 0 else src[region]
        if add:
            xp.add.at(out, self.where, values)
        else:
            out[self.where] = values
        return out

    def backward(self, g):
        dx = dsrc = None
        if self.needs_input_grad[0]:
            dx = g if self.add else g.copy()
            if not self.add:
                dx[self.where] = 0
        if self.needs_input_grad[1]:
            gathered = g[self.where]
            if len(self.src_shape) == 0:
                dsrc = gathered.sum()
            else:
                dsrc = xp.zeros(self.src_shape, g.dtype)
                dsrc[tuple(slice(0, n) for n in gathered.shape)] = gathered
        return dx, dsrc


class IndexAdd(Op):
    """y = x with source added at index along dim;  dx = g, dsource = g at index"""
    saved_inputs = ()

    def forward(self, x, source, index, axis, alpha):
        self.index, self.axis, self.alpha = index, axis, alpha
        out = x.copy()
        where = [slice(None)] * x.ndim
        where[axis] = index
        xp.add.at(out, tuple(where), source * alpha)
        return out

    def backward(self, g):
        return g, xp.take(g, self.index, axis=self.axis) * self.alpha


class Triangle(Op):
    """y = the lower (tril) or upper (triu) triangle of the last two dims;  dx = g on the same triangle"""
    saved_inputs = ()

    def forward(self, x, diagonal, lower):
        rows, cols = x.shape[-2:]
        self.mask = (xp.tri(rows, cols, diagonal, dtype=bool) if lower else
                     ~xp.tri(rows, cols, diagonal - 1, dtype=bool))
        return xp.where(self.mask, x, xp.zeros((), x.dtype))

    def backward(self, g):
        return (g * self.mask,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.mask),)


class Diagonal(Op):
    """y = the diagonal (offset) of dims (d1, d2), as the last dim (a view, as torch);  dx = g placed on it"""
    saved_inputs, is_view = (), True

    @staticmethod
    def view(x, offset, axis1, axis2):
        # NumPy's diagonal() is a read-only view; the same strides give a writable one
        rows, cols = x.shape[axis1], x.shape[axis2]
        length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
        start = [0] * x.ndim
        if length:
            start[axis1], start[axis2] = (0, offset) if offset >= 0 else (-offset, 0)
        base = x[tuple(slice(s, None) if i in (axis1, axis2) else slice(None) for i, s in enumerate(start))]
        keep = [i for i in range(x.ndim) if i not in (axis1, axis2)]
        shape = tuple(x.shape[i] for i in keep) + (length,)
        strides = tuple(base.strides[i] for i in keep) + (base.strides[axis1] + base.strides[axis2],)
        return xp.lib.stride_tricks.as_strided(base, shape, strides)

    def forward(self, x, offset, axis1, axis2):
        self.shape, self.args = x.shape, (offset, axis1, axis2)
        return self.view(x, offset, axis1, axis2)

    def backward(self, g):
        dx = xp.zeros(self.shape, g.dtype)
        self.view(dx, *self.args)[...] = g
        return (dx,)


class DiagEmbed(Op):
    """y = a matrix with x on its offset diagonal (torch.diag of a vector);  dx = that diagonal of g"""
    saved_inputs = ()

    def forward(self, x, offset):
        self.offset = offset
        return xp.diag(x, offset)

    def backward(self, g):
        return (xp.diag(g, self.offset).copy(),)


def _source_positions(n: int, before: int, after: int, mode: str) -> Any:
    """For each padded position along one axis, the input position its value comes from."""
    positions = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    period = 2 * (n - 1)  # reflect: mirror about the first and last samples, without repeating them
    folded = xp.abs(positions) % period if period else xp.zeros_like(positions)
    return xp.where(folded >= n, period - folded, folded)


class Pad(Op):
    """y = x padded;  dx = the interior of g (constant) or g summed onto each padded value's source"""
    saved_inputs = ()

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
            moved = xp.moveaxis(g, axis, 0)  # interior first, then each border slice onto its source
            dx = moved[before:before + n].copy()
            for p in list(range(before)) + list(range(before + n, len(src))):
                dx[src[p]] += moved[p]
            g = xp.moveaxis(dx, 0, axis)
        return (g,)

    def vjp(self, g):
        if self.mode != "constant":
            raise NotImplementedError(f"create_graph=True through {self.mode} padding is not supported by nnci")
        index = tuple(slice(before, before + n) for (before, _), n in zip(self.widths, self.shape))
        return (g[index],)


# ----- views -------------------------------------------------------------------------------------------
def _resolve_shape(x: Tensor, shape: tuple) -> tuple[int, ...]:
    target = [int(n) for n in shape]
    known = 1
    for n in target:
        known *= n if n != -1 else 1
    free = [i for i, n in enumerate(target) if n == -1]
    size = x.numel()
    if len(free) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if builtins.any(n < -1 for n in target) or (free and (known == 0 or size % known)) or (not free and known != size):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    if free:
        target[free[0]] = size // known
    return tuple(target)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """input with a new shape of the same size (-1 infers one dim); a view when the memory allows"""
    return Reshape.apply(input, shape=_resolve_shape(input, _shape_args(shape)))


def view(input: Tensor, *shape: Any) -> Tensor:
    """input with a new shape, always a view: refused when the memory layout does not allow one (as torch)"""
    args = _shape_args(shape)
    if len(args) == 1 and not isinstance(args[0], int):
        kind = dtypes.as_dtype(args[0])  # view(dtype): the same bytes read as another dtype
        return constant(input._array.view(kind.dtype))
    target = _resolve_shape(input, args)
    probe = input._array.view()
    try:
        probe.shape = target
    except AttributeError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one dimension "
                           "spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return Reshape.apply(input, shape=target)


def permute(input: Tensor, *dims: Any) -> Tensor:
    """input with its dims reordered"""
    dims = _shape_args(dims)
    ndim = input.ndim
    for d in dims:
        input._dim(d)  # IndexError for a dim out of range, as torch
    if len(dims) != ndim or sorted(d % builtins.max(ndim, 1) for d in dims) != list(range(ndim)):
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                           f"of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal to "
                           f"len(dims) = {len(dims)}" if len(dims) != ndim else
                           f"permute: {tuple(dims)} is not an order of the {ndim} dims of shape {tuple(input.shape)}")
    return Permute.apply(input, dims=tuple(d % ndim for d in dims))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """input with dims dim0 and dim1 swapped"""
    if input.ndim == 0:
        return Reshape.apply(input, shape=())
    dims = list(range(input.ndim))
    a, b = input._dim(dim0), input._dim(dim1)
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """the transpose of a matrix (a vector or scalar as it is)"""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else Reshape.apply(input, shape=input._array.shape)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """input with dims moved from `source` to `destination` positions, the others keeping their order"""
    source = [input._dim(d) for d in ([source] if isinstance(source, int) else source)]
    destination = [input._dim(d) for d in ([destination] if isinstance(destination, int) else destination)]
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({source} dims) should contain the "
                           f"same number of dims as destination ({destination} dims)")
    order = [d for d in range(input.ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """input with dims start_dim..end_dim merged into one"""
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = input._dim(start_dim), input._dim(end_dim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    merged = 1
    for n in input.shape[start:end + 1]:
        merged *= n
    return reshape(input, tuple(input.shape[:start]) + (merged,) + tuple(input.shape[end + 1:]))


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """input with dim split into `sizes` (one may be -1)"""
    dim = input._dim(dim)
    sizes = list(sizes)
    if -1 in sizes:
        known = 1
        for n in sizes:
            known *= n if n != -1 else 1
        sizes[sizes.index(-1)] = input.shape[dim] // known
    return reshape(input, tuple(input.shape[:dim]) + tuple(sizes) + tuple(input.shape[dim + 1:]))


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """input without size-1 dims (only those in `dim` when given)"""
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        dims = {input._dim(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in dims and n == 1))
    return Reshape.apply(input, shape=shape)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """input with a new size-1 dim at `dim`"""
    ndim = input.ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    dim %= ndim
    return Reshape.apply(input, shape=tuple(input.shape[:dim]) + (1,) + tuple(input.shape[dim:]))


def expand(input: Tensor, *shape: Any) -> Tensor:
    """input broadcast to `shape` (-1 keeps a dim), as a view"""
    shape = _shape_args(shape)
    lead = len(shape) - input.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({input.ndim})")
    target = tuple(input.shape[i - lead] if n == -1 and i >= lead else int(n) for i, n in enumerate(shape))
    for i, n in enumerate(input.shape):
        if n != 1 and n != target[i + lead]:
            raise RuntimeError(f"The expanded size of the tensor ({target[i + lead]}) must match the existing size "
                               f"({n}) at non-singleton dimension {i + lead}.  Target sizes: {list(shape)}.  Tensor "
                               f"sizes: {list(input.shape)}")
    return Expand.apply(input, shape=target)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """input expanded to `shape`"""
    return expand(input, tuple(shape))


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape that all the given shapes broadcast to"""
    try:
        return Size(xp.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: {list(shapes)}") from None


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """the tensors expanded to their common shape"""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    """input if its memory is in row-major order, else a row-major copy"""
    return input if input._array.flags.c_contiguous else Clone.apply(input)


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """a copy of input (differentiable)"""
    return Clone.apply(input)


# ----- indexing ------------------------------------------------------------------------------------------
def index_arrays(index: Any) -> Any:
    """Turn tensors, lists and ranges inside an index into arrays, so NumPy's indexing rules apply."""
    if isinstance(index, tuple):
        return tuple(index_arrays(i) for i in index)
    if isinstance(index, Tensor):
        array = index._array
        if array.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return array.astype(bool) if array.dtype == xp.uint8 else array  # a byte tensor is a mask, as in torch
    if isinstance(index, (list, range)):
        if isinstance(index, list) and not index:
            return xp.zeros(0, xp.int64)
        array = xp.asarray([index_arrays(i) if isinstance(i, Tensor) else i for i in index]) if \
            isinstance(index, list) else xp.asarray(index)
        if array.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return array
    if isinstance(index, xp.ndarray) or isinstance(index, (int, slice, xp.integer)) or index is None or index is Ellipsis:
        return index
    if isinstance(index, bool):
        return index
    raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte tensors are valid "
                     f"indices (got {type(index).__name__})")


def _check_index(input: Tensor, index: Any) -> None:
    items = index if isinstance(index, tuple) else (index,)
    dim = 0
    for item in items:
        if item is None:
            continue
        if item is Ellipsis:
            dim = input.ndim - builtins.sum(1 for i in items if i is not None and i is not Ellipsis) + dim
            continue
        if isinstance(item, (int, xp.integer)) and not isinstance(item, bool):
            if dim >= input.ndim:
                raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
            size = input.shape[dim]
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with size {size}")
        elif isinstance(item, slice) and item.step is not None and item.step <= 0:
            raise ValueError("step must be greater than zero")
        dim += 1


def _split_integers(index: Any, ndim: int) -> tuple[Any, Any] | None:
    """torch applies integer indices before tensor indices: x[0, :, [1, 2]] is x[0][:, [1, 2]] (NumPy would treat
    the 0 as one more array index). Returns (the basic index of the integers, the rest), or None if nothing to split."""
    items = index if isinstance(index, tuple) else (index,)
    if not any(isinstance(i, (int, xp.integer)) and not isinstance(i, bool) for i in items):
        return None
    if all(is_basic_index(i) for i in items):
        return None
    consumed = builtins.sum(1 for i in items if i is not None and i is not Ellipsis and not
                            (isinstance(i, xp.ndarray) and i.dtype == xp.bool_))
    consumed += builtins.sum(i.ndim for i in items if isinstance(i, xp.ndarray) and i.dtype == xp.bool_)
    expanded: list = []
    for item in items:
        if item is Ellipsis:
            expanded += [slice(None)] * (ndim - consumed)
        else:
            expanded.append(item)
    first, rest = [], []
    for item in expanded:
        if item is None:
            rest.append(None)
        elif isinstance(item, (int, xp.integer)) and not isinstance(item, bool):
            first.append(int(item))
        elif isinstance(item, xp.ndarray) and item.dtype == xp.bool_:
            first += [slice(None)] * item.ndim
            rest.append(item)
        else:
            first.append(slice(None))
            rest.append(item)
    return tuple(first), tuple(rest)


def getitem(input: Tensor, index: Any) -> Tensor:
    """input[index] with torch's rules: ints, slices, None, ..., integer and boolean tensors"""
    index = index_arrays(index)
    _check_index(input, index)
    if is_basic_index(index):
        return BasicIndex.apply(input, index=index)
    split = _split_integers(index, input.ndim)
    if split is not None:
        return getitem(BasicIndex.apply(input, index=split[0]), split[1])
    try:
        return AdvancedIndex.apply(input, index=index)
    except IndexError as error:
        raise IndexError(f"{error} (tensor of shape {tuple(input.shape)})") from None


def setitem(input: Tensor, index: Any, value: Any) -> None:
    """input[index] = value, in place (recorded for autograd when value or input requires grad)"""
    index = index_arrays(index)
    _check_index(input, index)
    split = None if is_basic_index(index) else _split_integers(index, input.ndim)
    if split is not None:
        return setitem(BasicIndex.apply(input, index=split[0]), split[1], value)
    if isinstance(value, Tensor):
        source = value
    else:
        source = Tensor._wrap(xp.asarray(to_array(value)).astype(input._array.dtype, copy=False))
    try:
        apply_inplace(IndexPut, input, source, name="index_put_", index=index)
    except ValueError as error:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(source.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(input._array[index].shape)} ({error})") from None


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """input[..., index, ...] at dim (a view)"""
    where = [slice(None)] * input.ndim
    where[input._dim(dim)] = int(index)
    return getitem(input, tuple(where))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """input[..., start:start + length, ...] at dim (a view)"""
    where = [slice(None)] * input.ndim
    dim = input._dim(dim)
    size = input.shape[dim]
    start = int(start) + size if start < 0 else int(start)
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    where[dim] = slice(start, start + int(length))
    return getitem(input, tuple(where))


def _check_bounds(index: Any, size: int, axis: int, name: str) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = int(index.min() if index.min() < 0 else index.max())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {size}")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """input at the positions `index` along dim (a copy)"""
    positions = to_array(index)
    if positions.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = input._dim(dim)
    _check_bounds(positions, input.shape[axis] if input.ndim else 1, axis, "index_select")
    where = [slice(None)] * input.ndim
    where[axis] = positions.reshape(-1)
    return AdvancedIndex.apply(input, index=tuple(where))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """the values of input where mask is True, as a 1-D tensor"""
    mask_array = to_array(mask).astype(bool)
    shape = xp.broadcast_shapes(input._array.shape, mask_array.shape)
    return AdvancedIndex.apply(expand(input, shape), index=xp.broadcast_to(mask_array, shape))


def take(input: Tensor, index: Tensor) -> Tensor:
    """input flattened, at `index`"""
    return AdvancedIndex.apply(reshape(input, -1), index=to_array(index))


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = input[i][index[i][j]] along dim"""
    index_array = to_array(index)
    if input.ndim == 0:
        input, index_array = input.reshape(1), index_array.reshape(1)
        return gather(input, 0, Tensor._wrap(index_array)).reshape(())
    if index_array.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    axis = input._dim(dim)
    _check_bounds(index_array, input.shape[axis], axis, "gather")
    for d in range(input.ndim):
        if d != axis and index_array.shape[d] > input.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index_array.shape)} to be "
                               f"smaller than self {list(input.shape)} apart from dimension {axis}")
    return Gather.apply(input, index=index_array, axis=axis)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """input at `indices` along dim (broadcasting the other dims)"""
    if dim is None:
        return take(input, indices)
    index_array = to_array(indices)
    shape = list(xp.broadcast_shapes(input._array.shape[:0] + tuple(1 for _ in input.shape), index_array.shape))
    axis = input._dim(dim)
    full = list(input.shape)
    full[axis] = index_array.shape[axis]
    full = [builtins.max(a, b) for a, b in zip(full, shape)]
    return gather(expand(input, [n if i != axis else input.shape[axis] for i, n in enumerate(full)]), axis,
                  xp.broadcast_to(index_array, full))


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None, reduce: str | None = None) -> Tensor:
    """out = input with out[i][index[i][j]] = src[i][j] along dim (reduce 'add' adds, 'multiply' multiplies)"""
    source = src if src is not None else value
    if reduce == "multiply":
        return _scatter_multiply(input, dim, index, source)
    return _scatter(input, dim, index, source, reduce in ("add", "sum"), False)


def _scatter_multiply(input: Tensor, dim: int, index: Tensor, src: Any) -> Tensor:
    """scatter(reduce='multiply'): every index's values multiplied in (no gradient, as torch's)"""
    from ..autograd.grad_mode import is_grad_enabled
    source = to_array(src) if isinstance(src, Tensor) else xp.asarray(src, input._array.dtype)
    if is_grad_enabled() and (input.requires_grad or (isinstance(src, Tensor) and src.requires_grad)):
        raise RuntimeError("scatter(reduce='multiply') is not differentiable (as in torch); use scatter_reduce")
    axis = input._dim(dim) if input.ndim else 0
    index_array = to_array(index)
    _check_bounds(index_array, input.shape[axis] if input.ndim else 1, axis, "scatter")
    out = input._array.copy()
    values = xp.broadcast_to(source, index_array.shape) if source.ndim == 0 else \
        source[tuple(slice(0, n) for n in index_array.shape)]
    xp.multiply.at(out, _gather_index(index_array, axis), values)
    return constant(out)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """out = input with src added at index along dim"""
    return _scatter(input, dim, index, src, True, False)


def _scatter(input: Tensor, dim: int, index: Tensor, src: Any, add: bool, inplace: bool) -> Tensor:
    if to_array(index).ndim == 0 and input.ndim == 1:  # a scalar index into a vector (torch's one-hot idiom)
        index = Tensor._wrap(to_array(index).reshape(1))
        if isinstance(src, Tensor) and src.ndim == 0:
            src = src.reshape(1)
    source = src if isinstance(src, Tensor) else Tensor._wrap(xp.asarray(src, dtype=input._array.dtype))
    if source._array.dtype != input._array.dtype:
        source = as_operand(source, input.dtype)
    axis = input._dim(dim) if input.ndim else 0
    index_array = to_array(index)
    _check_bounds(index_array, input.shape[axis] if input.ndim else 1, axis, "scatter")
    if inplace:
        return apply_inplace(Scatter, input, source, name="scatter_", index=index_array, axis=axis, add=add)
    return Scatter.apply(input, source, index=index_array, axis=axis, add=add)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """out = input with source added at `index` along dim"""
    return IndexAdd.apply(input, as_operand(source, input.dtype), index=to_array(index), axis=input._dim(dim),
                          alpha=alpha)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """input with `value` where mask is True"""
    from .elementwise import where
    if to_array(mask).dtype != xp.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {to_array(mask).dtype}")
    fill = value if isinstance(value, Tensor) else Tensor._wrap(xp.asarray(value, dtype=input._array.dtype))
    return where(mask, fill.to(input.dtype), input)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """the indices of the nonzero values: (count, ndim), or one index tensor per dim with as_tuple"""
    if input.ndim == 0:
        count = int(bool(input._array))
        return (constant(xp.zeros(count, xp.int64)),) if as_tuple else constant(xp.zeros((count, 0), xp.int64))
    found = xp.nonzero(input._array)
    if as_tuple:
        return tuple(constant(i.astype(xp.int64)) for i in found)
    return constant(xp.stack(found, axis=1).astype(xp.int64))


argwhere = nonzero


# ----- joining and copying ------------------------------------------------------------------------------
def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None, out: Tensor | None = None) -> Tensor:
    """the tensors joined along an existing dim (promoted to one dtype)"""
    from .elementwise import _out, promote
    dim = dim if axis is None else axis
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]  # torch skips empty 1-D
    first = kept[0]
    if first.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis_ = first._dim(dim)
    for position, t in enumerate(kept[1:], 1):
        if t.ndim != first.ndim or builtins.any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis_):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {axis_}. Expected size "
                               f"{first.shape[1 if axis_ == 0 else 0] if first.ndim > 1 else first.shape[0]} but got "
                               f"size {t.shape[1 if axis_ == 0 else 0] if t.ndim > 1 else t.shape[0]} for tensor "
                               f"number {position} in the list (shapes {tuple(first.shape)} and {tuple(t.shape)})")
    return _out(Cat.apply(*promote(*kept), axis=axis_), out)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """the tensors joined along a new dim"""
    from .elementwise import _out, promote
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shapes = [tuple(t.shape) for t in tensors]
    for position, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shapes[0])} at entry 0 and "
                               f"{list(shape)} at entry {position}")
    ndim = tensors[0].ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return _out(Stack.apply(*promote(*tensors), axis=dim % ndim), out)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = [atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([reshape(t, -1, 1) if t.ndim <= 1 else t for t in tensors], 1)


def atleast_1d(t: Tensor) -> Tensor:
    return reshape(t, 1) if t.ndim == 0 else t


def atleast_2d(t: Tensor) -> Tensor:
    return reshape(t, 1, -1) if t.ndim < 2 else t


def atleast_3d(t: Tensor) -> Tensor:
    if t.ndim == 0:
        return reshape(t, 1, 1, 1)
    if t.ndim == 1:
        return reshape(t, 1, -1, 1)
    return unsqueeze(t, -1) if t.ndim == 2 else t


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """tensor cut along dim into pieces of a size (the last may be smaller) or of the listed sizes (views)"""
    axis = tensor._dim(dim)
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {axis}), but got split_sizes={sizes}")
    pieces, start = [], 0
    for size in sizes:
        where = [slice(None)] * tensor.ndim
        where[axis] = slice(start, start + size)
        pieces.append(BasicIndex.apply(tensor, index=tuple(where)))
        start += size
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """input cut along dim into at most `chunks` nearly equal pieces"""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = -(-input.shape[dim] // chunks)
    return split(input, builtins.max(size, 1), dim)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """input cut along dim into n pieces as even as possible, or at the given indices"""
    n = input.shape[dim]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        bounds = [0] + [builtins.min(int(i), n) for i in indices_or_sections] + [n]
        sizes = [builtins.max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])]
    return split(input, sizes, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """the slices of input along dim, without that dim (views)"""
    axis = input._dim(dim)
    return tuple(select(input, axis, i) for i in range(input.shape[axis]))


def flip(input: Tensor, dims: Any) -> Tensor:
    """input reversed along dims (a copy)"""
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    return Flip.apply(input, axes=tuple(input._dim(d) for d in dims))


def fliplr(input: Tensor) -> Tensor:
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    return flip(input, 0)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """input shifted cyclically by `shifts` along dims (flattened when dims is None)"""
    if dims is None:
        return reshape(Roll.apply(reshape(input, -1), shifts=int(shifts), axes=0), input.shape)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return Roll.apply(input, shifts=shifts, axes=tuple(input._dim(d) for d in dims))


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """input rotated by 90 degrees k times in the plane of dims"""
    k %= 4
    a, b = dims
    if k == 0:
        return clone(input)
    if k == 2:
        return flip(input, (a, b))
    turned = flip(input, b) if k == 1 else flip(input, a)
    return transpose(turned, a, b).contiguous()


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """input repeated sizes[i] times along dim i (a copy; torch's repeat is NumPy's tile)"""
    reps = tuple(int(s) for s in _shape_args(sizes))
    if len(reps) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    return Tile.apply(input, reps=reps)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """input repeated dims[i] times along dim i (missing leading reps are 1)"""
    reps = tuple(int(d) for d in dims)
    reps = (1,) * (input.ndim - len(reps)) + reps
    return Tile.apply(input, reps=reps)


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
    """each element of input repeated `repeats` times (along dim; flattened when dim is None)"""
    if dim is None:
        input, dim = reshape(input, -1), 0
    counts = to_array(repeats) if isinstance(repeats, Tensor) else repeats
    return RepeatInterleave.apply(input, repeats=counts, axis=input._dim(dim))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """the lower triangle of the last two dims (zeros above `diagonal`)"""
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Triangle.apply(input, diagonal=diagonal, lower=True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """the upper triangle of the last two dims (zeros below `diagonal`)"""
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Triangle.apply(input, diagonal=diagonal, lower=False)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """the offset diagonal of the dims (dim1, dim2), as the last dim"""
    return Diagonal.apply(input, offset=offset, axis1=input._dim(dim1), axis2=input._dim(dim2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """a vector's diagonal matrix, or a matrix's diagonal"""
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=diagonal)
    if input.ndim == 2:
        return Diagonal.apply(input, offset=diagonal, axis1=0, axis2=1)
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.ndim}D")


def trace(input: Tensor) -> Tensor:
    """the sum of a matrix's diagonal"""
    from .reduce import sum
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return sum(diagonal(input))


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """coordinate grids from 1-D tensors ('ij' by default, as torch; 'xy' swaps the first two)"""
    tensors = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else list(tensors)
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:  # 'xy': the first two inputs change roles; grid k of (x, y, ...) is grid of the swapped order
        tensors[0], tensors[1] = tensors[1], tensors[0]
    shape = tuple(t.numel() for t in tensors)
    grids = []
    for i, t in enumerate(tensors):
        view_shape = [1] * len(tensors)
        view_shape[i] = -1
        grids.append(expand(reshape(t, view_shape), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


# ----- padding -------------------------------------------------------------------------------------------
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """input padded by torch's `pad` tuple (last dim first: left, right, top, bottom, ...)"""
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2 (pad {tuple(pad)})")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length too large: {tuple(pad)} pads {len(pad) // 2} dims of a {input.ndim}-D input")
    modes = ("constant", "reflect", "replicate", "circular")
    if mode not in modes:
        raise NotImplementedError(f"pad: mode {mode!r} is not one of {modes}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant" and builtins.any(min(w) < 0 for w in widths):  # negative constant padding crops
        crop = tuple(slice(builtins.max(-b, 0), n - builtins.max(-a, 0)) for (b, a), n in zip(widths, input.shape))
        input = getitem(input, crop)
        widths = [(builtins.max(b, 0), builtins.max(a, 0)) for b, a in widths]
    for axis, (before, after) in enumerate(widths):
        if builtins.min(before, after) < 0:
            raise ValueError("pad: negative padding is only supported in constant mode")
        if mode == "reflect" and builtins.max(before, after) >= input.shape[axis]:
            raise ValueError(f"pad: reflect padding of {builtins.max(before, after)} needs dim {axis} larger than that, "
                             f"input shape {tuple(input.shape)}")
    return Pad.apply(input, widths=tuple(widths), mode=mode, value=0.0 if value is None else value)


class Unfold(Op):
    """y = the windows of `size` elements `step` apart along dim, as a new last dim (a view, as torch);
    dx = g added back at each window's elements"""
    saved_inputs, is_view = (), True

    @staticmethod
    def view(x, axis, size, step):
        count = (x.shape[axis] - size) // step + 1
        shape = x.shape[:axis] + (count,) + x.shape[axis + 1:] + (size,)
        strides = x.strides[:axis] + (x.strides[axis] * step,) + x.strides[axis + 1:] + (x.strides[axis],)
        return xp.lib.stride_tricks.as_strided(x, shape, strides)

    def forward(self, x, axis, size, step):
        self.shape, self.args = x.shape, (axis, size, step)
        return self.view(x, axis, size, step)

    def backward(self, g):
        axis, size, step = self.args
        dx = xp.zeros(self.shape, g.dtype)
        moved = xp.moveaxis(dx, axis, -1)
        windows = xp.moveaxis(g, axis, -2)  # (..., count, size)
        for k in range(size):
            moved[..., k:k + step * windows.shape[-2]:step] += windows[..., k]
        return (dx,)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """windows of `size` elements, `step` apart, along dimension (Tensor.unfold)"""
    axis = input._dim(dimension) if input.ndim else 0
    length = input.shape[axis] if input.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(input if input.ndim else input.reshape(1), axis=axis, size=size, step=step)


def ravel(input: Tensor) -> Tensor:
    """input as one dim (a view when the memory allows)"""
    return reshape(input, -1)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """matrices with input's last dim on their offset diagonal (the last two dims)"""
    if (dim1 % (input.ndim + 1), dim2 % (input.ndim + 1)) != (input.ndim - 1, input.ndim):
        raise NotImplementedError("diag_embed: only dim1=-2, dim2=-1 are supported by nnci")
    return _diag_matrix(input, offset)


def _diag_matrix(input: Tensor, offset: int) -> Tensor:
    n = input.shape[-1] + abs(offset)
    out = Tensor._wrap(xp.zeros(tuple(input.shape[:-1]) + (n, n), input._array.dtype))
    rows = xp.arange(input.shape[-1]) + max(-offset, 0)
    cols = xp.arange(input.shape[-1]) + max(offset, 0)
    return index_put(out, (Ellipsis, rows, cols), input)


def index_put(input: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """a copy of input with values put at indices (added when accumulate)"""
    out = clone(input)
    index_put_(out, indices, values, accumulate)
    return out


def index_put_(input: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """in place: input[indices] = values (with accumulate, += where repeated indices add up)"""
    index = tuple(indices) if isinstance(indices, (tuple, list)) else (indices,)
    if not accumulate:
        setitem(input, index, values)
        return input
    where = index_arrays(index)
    source = values if isinstance(values, Tensor) else Tensor._wrap(xp.asarray(values, input._array.dtype))
    return apply_inplace(IndexPut, input, source, name="index_put_", index=where, accumulate=True)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """input flattened onto the offset diagonal of a square matrix"""
    return _diag_matrix(input.reshape(-1), offset)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """a copy of input with the slices of source placed at index along dim"""
    out = clone(input)
    where = [slice(None)] * input.ndim
    where[input._dim(dim)] = to_array(index)
    setitem(out, tuple(where), source)
    return out


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """a copy of input with value at the positions index along dim"""
    mask = xp.zeros(input._array.shape, bool)
    where = [slice(None)] * input.ndim
    where[input._dim(dim)] = to_array(index)
    mask[tuple(where)] = True
    return masked_fill(input, Tensor._wrap(mask), value)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """a copy of input with source's leading values placed, in order, where mask is True"""
    mask_array = xp.broadcast_to(to_array(mask).astype(bool), input._array.shape)
    count = int(mask_array.sum())
    out = clone(input)
    setitem(out, Tensor._wrap(mask_array), reshape(source, -1)[:count])
    return out


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """out = input with src reduced in at index along dim: 'sum', 'prod', 'mean', 'amax' or 'amin'"""
    axis = input._dim(dim) if input.ndim else 0
    index_array = to_array(index)
    _check_bounds(index_array, input.shape[axis] if input.ndim else 1, axis, "scatter_reduce")
    if reduce == "sum":
        base = input if include_self else _scatter(input, dim, index, 0.0, False, False)
        return scatter_add(base, dim, index, src)
    where = _gather_index(index_array, axis)
    values = src._array[tuple(slice(0, n) for n in index_array.shape)]
    out = input._array.copy()
    if not include_self:
        fill = {"prod": 1, "mean": 0, "amax": -xp.inf, "amin": xp.inf}[reduce]
        out[where] = fill
    if reduce == "prod":
        xp.multiply.at(out, where, values)
    elif reduce == "amax":
        xp.maximum.at(out, where, values)
    elif reduce == "amin":
        xp.minimum.at(out, where, values)
    elif reduce == "mean":
        counts = xp.zeros(out.shape, xp.int64) + (1 if include_self else 0)
        xp.add.at(out, where, values)
        xp.add.at(counts, where, 1)
        out = xp.where(counts > 0, out / xp.maximum(counts, 1), out).astype(out.dtype)
    else:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    from .elementwise import zero_gradient
    if input.requires_grad or src.requires_grad:
        raise NotImplementedError(f"the gradient of scatter_reduce(reduce='{reduce}') is not implemented in nnci "
                                  "(reduce='sum' has one)")
    return zero_gradient(out, input)
