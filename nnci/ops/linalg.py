"""Matrix products, einsum, norms and the small dense linear algebra of torch.linalg (inv, det, solve)."""
from __future__ import annotations

import math
from typing import Any

from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor
from .elementwise import promote, where
from .shape import squeeze, unsqueeze


class MatMul(Op):
    """y = a @ b (batched, broadcast);  da = g @ b^T, db = a^T @ g"""
    node_name = "MmBackward0"

    def saves(self):
        return tuple(i for i, needed in ((1, self.needs_input_grad[0]), (0, self.needs_input_grad[1])) if needed)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        da = g @ xp.swapaxes(self.b, -1, -2) if self.needs_input_grad[0] else None
        db = xp.swapaxes(self.a, -1, -2) @ g if self.needs_input_grad[1] else None
        return da, db

    def vjp(self, g):
        da = MatMul.apply(g, self.input_tensor(1, self.b).mT) if self.needs_input_grad[0] else None
        db = MatMul.apply(self.input_tensor(0, self.a).mT, g) if self.needs_input_grad[1] else None
        return da, db


def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """input @ other with NumPy's (torch's) rules for 1-D operands and batch broadcasting"""
    from .elementwise import _out
    return _out(_matmul(input, other, "matmul"), out)


def _matmul(input: Any, other: Any, op: str) -> Tensor:
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input._array.dtype != other._array.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, but got {input.dtype} and "
                           f"{other.dtype}")
    a, b = promote(input, other)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"{op}: both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({_matrix_text(a)} and {_matrix_text(b)})")
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 1:
        return squeeze(MatMul.apply(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(MatMul.apply(a, unsqueeze(b, 1)), -1)
    try:
        xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: batch dims of shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from None
    return MatMul.apply(a, b)


def _matrix_text(t: Tensor) -> str:
    rows = 1
    for n in t.shape[:-1]:
        rows *= n
    return f"{rows}x{t.shape[-1]}" if t.ndim > 1 else f"1x{t.shape[0]}"


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """matrix product of two 2-D tensors"""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    return _matmul(input, mat2, "mm")


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """batched matrix product of two 3-D tensors with the same batch size"""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (bmm got shapes {tuple(input.shape)} and {tuple(mat2.shape)})")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes {input.shape[0]} and {mat2.shape[0]} differ")
    return _matmul(input, mat2, "bmm")


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """matrix-vector product"""
    return _matmul(input, vec, "mv")


def dot(input: Tensor, other: Tensor) -> Tensor:
    """sum of the products of two 1-D tensors"""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape != other.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           "to have the same number of elements, but got different sizes")
    return _matmul(input, other, "dot")


def inner(input: Tensor, other: Tensor) -> Tensor:
    """sum over the last dims of input and other (the dot product of 1-D inputs)"""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return matmul(input.unsqueeze(-2) if input.ndim == 1 else input,
                  other.reshape(-1, other.shape[-1]).t()).reshape(tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """input[i] vec2[j]"""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D inputs, got {input.ndim}-D and {vec2.ndim}-D")
    return unsqueeze(input, 1) * unsqueeze(vec2, 0)


ger = outer


def addmm(input: Any, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta input + alpha mat1 @ mat2"""
    return input * beta + mm(mat1, mat2) * alpha


def kron(input: Tensor, other: Tensor) -> Tensor:
    """the Kronecker product of two 2-D tensors"""
    (a, b), (c, d) = input.shape, other.shape
    return (input.reshape(a, 1, b, 1) * other.reshape(1, c, 1, d)).reshape(a * c, b * d)


# ----- einsum --------------------------------------------------------------------------------------------
class Einsum(Op):
    """y = einsum(spec, *operands);  d operand_k = einsum of g with the other operands, back to k's subscripts"""

    def forward(self, *arrays, inputs, output):
        self.arrays, self.inputs, self.output = arrays, inputs, output
        return xp.einsum(",".join(inputs) + "->" + output, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        sizes: dict[str, int] = {}
        for array, subscripts in zip(self.arrays, self.inputs):
            for c, n in zip(subscripts, array.shape):
                sizes[c] = max(sizes.get(c, 1), n)
        grads = []
        for k, (array, subscripts) in enumerate(zip(self.arrays, self.inputs)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(self.inputs) if j != k]
            available = set(self.output).union(*others)
            target = "".join(c for c in dict.fromkeys(subscripts) if c in available)
            operands = [g] + [a for j, a in enumerate(self.arrays) if j != k]
            partial = xp.einsum(",".join([self.output] + others) + "->" + target, *operands,
                                optimize=len(operands) > 2)
            shape = tuple(sizes[c] for c in subscripts)  # the broadcast shape: the engine sums size-1 dims back
            grads.append(_to_subscripts(partial, target, subscripts, shape))
        return grads


def _to_subscripts(partial: Any, target: str, subscripts: str, shape: tuple) -> Any:
    """Spread a gradient over `target` letters to the operand's subscripts: broadcast the letters it lacks and put
    repeated letters (diagonals) on the diagonal."""
    sizes = dict(zip(subscripts, shape))
    letters = "".join(dict.fromkeys(subscripts))
    expanded = partial
    for c in letters:
        if c not in target:
            expanded = xp.expand_dims(expanded, -1)
            target += c
    expanded = xp.broadcast_to(expanded, tuple(sizes[c] for c in target))
    expanded = xp.einsum(f"{target}->{letters}", expanded)
    if letters == subscripts:
        return xp.ascontiguousarray(expanded)
    out = xp.zeros(shape, partial.dtype)  # repeated letters: the grad lives on the diagonal
    view = xp.einsum(f"{subscripts}->{letters}", out)
    view[...] = expanded
    return out


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation over the operands, as torch.einsum (explicit or implicit output, ...)"""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    kinds = {t._array.dtype for t in operands if isinstance(t, Tensor)}
    if len(kinds) > 1:
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got {sorted(str(k) for k in kinds)}")
    tensors = promote(*operands)
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(tensors):
        raise RuntimeError(f"einsum(): more operands were provided than specified in the equation" if len(tensors) > len(
            inputs) else "einsum(): fewer operands were provided than specified in the equation")
    letters = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    ellipsis_dims = max((t.ndim - len(s.replace("...", "")) for s, t in zip(inputs, tensors) if "..." in s), default=0)
    fill = "".join(letters[:ellipsis_dims])
    expanded = []
    for subscripts, tensor in zip(inputs, tensors):
        if "..." in subscripts:
            own = tensor.ndim - len(subscripts.replace("...", ""))
            subscripts = subscripts.replace("...", fill[ellipsis_dims - own:])
        if len(subscripts) != tensor.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(subscripts)}) does not match "
                               f"the number of dimensions ({tensor.ndim}) for operand of shape {tuple(tensor.shape)}")
        expanded.append(subscripts)
    if arrow:
        output = rhs.replace("...", fill)
    else:
        counts: dict[str, int] = {}
        for s in expanded:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        output = fill + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in fill))
    return Einsum.apply(*tensors, inputs=tuple(expanded), output=output)


# ----- norms ---------------------------------------------------------------------------------------------
class VectorNorm(Op):
    """y = (sum |x|^p)^(1/p) over dims (p = inf: max |x|);  dx = g x |x|^(p-2) / y^(p-1), 0 where y = 0 (torch's)"""

    def forward(self, x, p, axes, keepdim):
        self.x, self.p, self.axes, self.keepdim = x, p, axes, keepdim
        magnitude = xp.abs(x)
        if p == math.inf:
            y = magnitude.max(axis=axes, keepdims=True, initial=0)
        elif p == -math.inf:
            y = magnitude.min(axis=axes, keepdims=True)
        elif p == 0:
            y = (magnitude != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = magnitude.sum(axis=axes, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            y = (magnitude ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        self.y = y
        out = y if keepdim else y.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        self.out = out.astype(x.dtype, copy=True)
        return self.out

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        x, y, p = self.x, self.y, self.p
        if p == 0:
            return (xp.zeros_like(x),)
        if p == 1:
            return (g * xp.sign(x),)
        if p in (math.inf, -math.inf):
            hit = xp.abs(x) == y
            return (xp.sign(x) * hit * (g / xp.maximum(hit.sum(axis=self.axes, keepdims=True), 1)),)
        with xp.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                scale = x / y
            else:
                scale = x * xp.abs(x) ** (p - 2) / y ** (p - 1)
        return (xp.where(y == 0, xp.zeros((), x.dtype), g * scale),)

    def vjp(self, g):
        from .elementwise import where
        x, p = self.input_tensor(0, self.x), self.p
        y = self.output_tensor(self.out)
        if not self.keepdim:
            g, y = g.reshape(self.y.shape), y.reshape(self.y.shape)
        if p == 0:
            return (x * 0,)
        if p == 1:
            return (g * x.sign(),)
        if p in (math.inf, -math.inf):
            hit = xp.abs(self.x) == self.y
            share = hit / xp.maximum(hit.sum(axis=self.axes, keepdims=True), 1)
            return (g * x.sign() * Tensor._wrap(share.astype(self.x.dtype)),)
        zero = Tensor._wrap(self.y == 0)
        safe = where(zero, 1.0, y)
        scale = x / safe if p == 2 else x * x.abs() ** (p - 2) / safe ** (p - 1)
        return (where(zero, 0.0, g * scale),)


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over dim (all entries when None); inf: max |x|, -inf: min |x|, 0: the nonzero count"""
    from .reduce import axes_of
    if dtype is not None:
        x = x.to(dtype)
    if x._array.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype}")
    axes = axes_of(dim, x.ndim)
    return VectorNorm.apply(x, p=float(ord), axes=axes, keepdim=keepdim)


class MatrixNorm(Op):
    """y = the largest (2), smallest (-2) or summed (nuc) singular value of the last two dims;
    dA = g U diag(e) V^T, e picking those singular values"""

    def forward(self, a, kind):
        self.kind = kind
        u, s, vt = xp.linalg.svd(a, full_matrices=False)
        if kind == "nuc":
            y = s.sum(-1)
            self.direction = u @ vt
        else:
            pick = 0 if kind == 2 else -1
            y = s[..., pick]
            self.direction = u[..., :, pick, None] * vt[..., pick, None, :]
        return y.astype(a.dtype)

    def backward(self, g):
        return (g[..., None, None] * self.direction,)
def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """'fro' (all entries' 2-norm), 'nuc' (sum of singular values), 1 / -1 (largest / smallest column sum of |A|),
    inf / -inf (rows), 2 / -2 (largest / smallest singular value)"""
    from .reduce import amax, amin, sum
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    rows, cols = (d % A.ndim for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        moved = A.movedim((rows, cols), (-2, -1))
        y = MatrixNorm.apply(moved, kind=ord)
        if keepdim:
            y = y.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols))
        return y
    if ord in (1, -1, math.inf, -math.inf):
        summed = sum(A.abs(), rows if ord in (1, -1) else cols, keepdim=True)
        other = cols if ord in (1, -1) else rows
        picked = amax(summed, other, keepdim=True) if ord > 0 else amin(summed, other, keepdim=True)
        return picked if keepdim else picked.squeeze((rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """each slice along dim scaled by maxnorm / (||slice||_p + 1e-7) where its p-norm exceeds maxnorm"""
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (p={p})")
    dim = input._dim(dim)
    others = tuple(d for d in range(input.ndim) if d != dim)
    norms = vector_norm(input, p, others, keepdim=True)
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0).to(input.dtype)
    return input * scale


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """torch.norm: the 2-norm of all entries ('fro' or 2), or the vector p-norm over dim"""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("norm: the nuclear norm is not supported by nnci")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def linalg_norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: the 2-norm of all entries by default; with ord, a vector norm of a 1-D input or over one
    dim, a matrix norm of a 2-D input or over two dims"""
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 1 and not isinstance(ord, str):
            return vector_norm(A, ord, None, keepdim, dtype=dtype)
        if A.ndim != 2:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if isinstance(dim, int) or len(dim) == 1:
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, tuple(dim), keepdim, dtype=dtype)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """the p-norm of input - other"""
    return vector_norm(input - other, p)


# ----- dense solvers -------------------------------------------------------------------------------------
class Inverse(Op):
    """Y = A^-1;  dA = -Y^T g Y^T"""
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.y = xp.linalg.inv(a)
        return self.y

    def backward(self, g):
        yt = xp.swapaxes(self.y, -1, -2)
        return (-(yt @ g @ yt),)


class Det(Op):
    """y = det A;  dA = g y A^-T"""

    def forward(self, a):
        self.a = a
        self.y = xp.linalg.det(a)
        return self.y.copy()

    def backward(self, g):
        inverse_t = xp.swapaxes(xp.linalg.inv(self.a), -1, -2)
        return ((g * self.y)[..., None, None] * inverse_t,)


class Solve(Op):
    """X = A^-1 B;  dB = A^-T g, dA = -dB X^T"""

    def forward(self, a, b, vector):
        self.a, self.vector = a, vector
        bb = b[..., None] if vector else b
        self.x = xp.linalg.solve(a, bb)
        return self.x[..., 0].copy() if vector else self.x.copy()

    def backward(self, g):
        gg = g[..., None] if self.vector else g
        db = xp.linalg.solve(xp.swapaxes(self.a, -1, -2), gg)
        da = -db @ xp.swapaxes(self.x, -1, -2)
        return da, (db[..., 0] if self.vector else db)


class SolveTriangular(Op):
    """X = T^-1 B for T the lower (or upper) triangle of A;  dB = T^-T g, dA = the triangle of -dB X^T"""

    def forward(self, a, b, upper, unitriangular):
        triangle = xp.triu(a) if upper else xp.tril(a)
        if unitriangular:
            triangle = triangle - xp.diagonal(triangle, 0, -2, -1)[..., None] * xp.eye(a.shape[-1], dtype=a.dtype)
            triangle = triangle + xp.eye(a.shape[-1], dtype=a.dtype)
        self.t, self.upper, self.unitriangular = triangle, upper, unitriangular
        self.x = xp.linalg.solve(triangle, b)
        return self.x.copy()

    def backward(self, g):
        db = xp.linalg.solve(xp.swapaxes(self.t, -1, -2), g)
        full = -db @ xp.swapaxes(self.x, -1, -2)
        da = xp.triu(full, 1 if self.unitriangular else 0) if self.upper else xp.tril(full, -1 if self.unitriangular else 0)
        return da, db


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out: Tensor | None = None) -> Tensor:
    """X with T X = B (left) or X T = B, T the upper or lower triangle of A; the other triangle is never read"""
    from .elementwise import _out
    _square(A, "solve_triangular")
    a, b = promote(A, B)
    if b.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    if left:
        result = SolveTriangular.apply(a, b, upper=upper, unitriangular=unitriangular)
    else:  # X T = B  <=>  T^T X^T = B^T
        result = SolveTriangular.apply(a.mT, b.mT, upper=not upper, unitriangular=unitriangular).mT
    return _out(result, out)


def inv(A: Tensor) -> Tensor:
    """the inverse of a square matrix (batched)"""
    _square(A, "inv")
    return Inverse.apply(A)


def det(A: Tensor) -> Tensor:
    """the determinant of a square matrix (batched)"""
    _square(A, "det")
    return Det.apply(A)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (batched; B a vector or matrices)"""
    if not left:
        raise NotImplementedError("linalg.solve: left=False is not supported by nnci; transpose the system instead")
    _square(A, "solve")
    a, b = promote(A, B)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    return Solve.apply(a, b, vector=vector)


def _square(A: Tensor, name: str) -> None:
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2] if A.ndim > 1 else 1} "
                           f"by {A.shape[-1] if A.ndim else 1} matrices")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """||x1[..., i, :] - x2[..., j, :]||_p for every pair of rows"""
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """the cross product of 3-vectors along dim (the first dim of size 3 when None)"""
    from .shape import stack
    if dim is None:
        dim = next(i for i, n in enumerate(input.shape) if n == 3)
    a0, a1, a2 = input.unbind(dim)
    b0, b1, b2 = other.unbind(dim)
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """sum over the last `dims` dims of a and the first of b (or the listed pairs of dims)"""
    letters = "abcdefghijklmnopqrstuvwxyz"
    if isinstance(dims, int):
        left, right = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        left, right = ([dims[0]] if isinstance(dims[0], int) else list(dims[0]),
                       [dims[1]] if isinstance(dims[1], int) else list(dims[1]))
    left, right = [d % a.ndim for d in left], [d % b.ndim for d in right]
    sa = list(letters[:a.ndim])
    sb = list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(left, right):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in left] + [c for j, c in enumerate(sb) if j not in right]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """the dot product of two 1-D tensors"""
    return dot(input, other)


def addmv(input: Any, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta input + alpha mat @ vec"""
    return input * beta + mv(mat, vec) * alpha


def addr(input: Any, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta input + alpha outer(vec1, vec2)"""
    return input * beta + outer(vec1, vec2) * alpha


def baddbmm(input: Any, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta input + alpha batch1 @ batch2"""
    return input * beta + bmm(batch1, batch2) * alpha


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated products (n < 0: of the inverse)"""
    from ..creation import eye
    if n == 0:
        return eye(A.shape[-1], dtype=A.dtype).expand(A.shape) * 1
    base = inv(A) if n < 0 else A
    result = base
    for _ in range(abs(n) - 1):
        result = result @ base
    return result


def multi_dot(tensors: Any) -> Tensor:
    """the product of a chain of matrices"""
    result = tensors[0]
    for t in tensors[1:]:
        result = matmul(result, t)
    return result


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """sum of x y along dim"""
    return (x * y).sum(dim)


class Slogdet(Op):
    """(sign, log|det A|);  dA = g A^-T for the log"""

    def forward(self, a):
        self.a = a
        sign, logdet = xp.linalg.slogdet(a)
        self.sign = sign
        return logdet.astype(a.dtype)

    def backward(self, g):
        return (g[..., None, None] * xp.swapaxes(xp.linalg.inv(self.a), -1, -2),)


def slogdet(A: Tensor) -> Any:
    """(sign of det A, log |det A|)"""
    from .. import return_types
    _square(A, "slogdet")
    log_abs = Slogdet.apply(A)
    sign = Tensor._wrap(xp.sign(xp.linalg.det(A._array)).astype(A._array.dtype))
    return return_types.slogdet(sign, log_abs)


logdet = lambda A: slogdet(A).logabsdet  # noqa: E731


class EigenvaluesSymmetric(Op):
    """w, V = eigh(A) for symmetric A (eigenvalues ascending);  dA = V (diag(gw) + F o (V^T gV)) V^T"""

    def forward(self, a, vectors):
        self.w, self.v = xp.linalg.eigh(a)
        self.vectors = vectors
        return (xp.concatenate([self.w[..., None, :], self.v], axis=-2) if vectors else self.w).astype(a.dtype)

    def backward(self, g):
        w, v = self.w, self.v
        gw = g[..., 0, :] if self.vectors else g
        inner = xp.zeros(v.shape, v.dtype)
        idx = xp.arange(w.shape[-1])
        inner[..., idx, idx] = gw
        if self.vectors:
            gv = g[..., 1:, :]
            with xp.errstate(divide="ignore"):
                gaps = w[..., None, :] - w[..., :, None]
                f = xp.where(gaps == 0, 0, 1 / gaps)
            inner = inner + f * (xp.swapaxes(v, -1, -2) @ gv)
        da = v @ inner @ xp.swapaxes(v, -1, -2)
        return ((da + xp.swapaxes(da, -1, -2)) / 2,)


def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix"""
    from .. import return_types
    _square(A, "eigh")
    both = EigenvaluesSymmetric.apply(A, vectors=True)
    return return_types.eigh(both[..., 0, :], both[..., 1:, :])


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """eigenvalues (ascending) of a symmetric matrix"""
    _square(A, "eigvalsh")
    return EigenvaluesSymmetric.apply(A, vectors=False)


class SingularValues(Op):
    """s = the singular values of A (descending);  dA = U diag(gs) V^T"""

    def forward(self, a):
        self.u, s, self.vt = xp.linalg.svd(a, full_matrices=False)
        return s.astype(a.dtype)

    def backward(self, g):
        return ((self.u * g[..., None, :]) @ self.vt,)


def svdvals(A: Tensor) -> Tensor:
    """the singular values of A, descending"""
    return SingularValues.apply(A)


class _ForwardOnly(Op):
    """A decomposition whose gradient nnci does not compute: backward says so."""
    saved_inputs = ()

    def forward(self, a, value, name):
        self.name = name
        return value

    def backward(self, g):
        raise NotImplementedError(f"the gradient of linalg.{self.name} is not implemented in nnci (its values are)")


def _decomposition(A: Tensor, arrays: tuple, name: str) -> tuple:
    return tuple(_ForwardOnly.apply(A, value=xp.ascontiguousarray(a.astype(A._array.dtype)), name=name) for a in arrays)


def svd(A: Tensor, full_matrices: bool = True) -> Any:
    """U, S, Vh with A = U diag(S) Vh (values only: no gradient)"""
    from .. import return_types
    u, s, vh = _decomposition(A, xp.linalg.svd(A._array, full_matrices=full_matrices), "svd")
    return return_types.svd(u, s, vh)


def qr(A: Tensor, mode: str = "reduced") -> Any:
    """Q, R with A = Q R (values only: no gradient)"""
    from .. import return_types
    q, r = _decomposition(A, xp.linalg.qr(A._array, mode="reduced" if mode == "reduced" else "complete"), "qr")
    return return_types.qr(q, r)


class Cholesky(Op):
    """L with A = L L^T;  dA = L^-T Phi(L^T gL) L^-1 symmetrised (Phi: lower triangle, half diagonal)"""
    saved_inputs, saves_output = (), True

    def forward(self, a, upper):
        try:
            self.l = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: The factorization could not be completed because the input is not "
                               "positive-definite.") from None
        self.upper = upper
        return xp.swapaxes(self.l, -1, -2).copy() if upper else self.l

    def backward(self, g):
        l = self.l
        gl = xp.swapaxes(g, -1, -2) if self.upper else g
        phi = xp.swapaxes(l, -1, -2) @ gl
        phi = xp.tril(phi) - 0.5 * xp.eye(l.shape[-1]) * phi
        inverse = xp.linalg.inv(l)
        s = xp.swapaxes(inverse, -1, -2) @ phi @ inverse
        return ((s + xp.swapaxes(s, -1, -2)) / 2,)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """the lower (or upper) triangular L with A = L L^T"""
    _square(A, "cholesky")
    return Cholesky.apply(A, upper=upper)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """X with (L L^T) X = B (L^T L when upper), from the Cholesky factor L"""
    if upper:
        return solve_triangular(L, solve_triangular(L.mT, B, upper=False), upper=True)
    return solve_triangular(L.mT, solve_triangular(L, B, upper=False), upper=True)


def cond(A: Tensor, p: Any = None) -> Tensor:
    """the condition number ||A|| ||A^-1|| (p None or 2: the ratio of the extreme singular values)"""
    if p in (None, 2, -2):
        s = svdvals(A)
        ratio = s[..., 0] / s[..., -1]
        return ratio if p != -2 else 1 / ratio
    return linalg_norm(A, p, dim=(-2, -1)) * linalg_norm(inv(A), p, dim=(-2, -1))


class MatrixExp(Op):
    """Y = e^A = sum A^k / k!;  dA = the Frechet derivative's adjoint, the top-right block of
    exp([[A^T, g], [0, A^T]]) (Higham, Functions of Matrices, 2008, sec. 10.6)"""

    def forward(self, a):
        from scipy.linalg import expm
        self.a = a
        return xp.stack([expm(m) for m in a.reshape((-1,) + a.shape[-2:])]).reshape(a.shape).astype(a.dtype)

    def backward(self, g):
        from scipy.linalg import expm
        n = self.a.shape[-1]
        out = []
        for m, gm in zip(self.a.reshape((-1, n, n)), g.reshape((-1, n, n))):
            block = xp.zeros((2 * n, 2 * n), xp.float64)
            block[:n, :n] = block[n:, n:] = m.T
            block[:n, n:] = gm
            out.append(expm(block)[:n, n:])
        return (xp.stack(out).reshape(self.a.shape).astype(g.dtype),)


def matrix_exp(A: Tensor) -> Tensor:
    """e^A of square matrices (batched)"""
    _square(A, "matrix_exp")
    return MatrixExp.apply(A)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """columns x^(N-1), ..., x, 1 (increasing: 1, x, ..., x^(N-1))"""
    from .shape import stack
    n = x.shape[0] if N is None else N
    powers = [x ** k if k else x * 0 + 1 for k in range(n)]
    return stack(powers if increasing else powers[::-1], 1)


def pinv(A: Tensor, *, rtol: float | None = None, hermitian: bool = False) -> Tensor:
    """the Moore-Penrose pseudo-inverse (for a full column rank A, (A^T A)^-1 A^T, differentiable)"""
    rank = xp.linalg.matrix_rank(A._array)
    rows, cols = A.shape[-2:]
    if (xp.asarray(rank) == cols).all() and rows >= cols:
        at = A.mT
        return inv(at @ A) @ at
    if (xp.asarray(rank) == rows).all():
        at = A.mT
        return at @ inv(A @ at)
    return _decomposition(A, (xp.linalg.pinv(A._array),), "pinv")[0]


def matrix_rank(A: Tensor, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False) -> Tensor:
    """the number of singular values above the tolerance"""
    return Tensor._wrap(xp.asarray(xp.linalg.matrix_rank(A._array, tol=atol), dtype=xp.int64))


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """X minimising ||A X - B|| (differentiable for a full column rank A)"""
    from .. import return_types
    solution = pinv(A) @ B
    return return_types.lstsq(
        solution, Tensor._wrap(xp.zeros(0, A._array.dtype)), matrix_rank(A), svdvals(A).detach())
