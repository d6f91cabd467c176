"""Matrix products, einsum, norms and the small dense linear algebra of torch.linalg (inv, det, solve)."""
from __future__ import annotations

import math
from typing import Any

from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor
from .elementwise import promote
from .shape import squeeze, unsqueeze


class MatMul(Op):
    """y = a @ b (batched, broadcast);  da = g @ b^T, db = a^T @ g"""

    def saves(self):
        return tuple(i for i, needed in ((1, self.needs_input_grad[0]), (0, self.needs_input_grad[1])) if needed)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        da = g @ xp.swapaxes(self.b, -1, -2) if self.needs_input_grad[0] else None
        db = xp.swapaxes(self.a, -1, -2) @ g if self.needs_input_grad[1] else None
        return da, db


def matmul(input: Any, other: Any, op: str = "matmul") -> Tensor:
    """input @ other with NumPy's (torch's) rules for 1-D operands and batch broadcasting"""
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
    return matmul(input, mat2, "mm")


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """batched matrix product of two 3-D tensors with the same batch size"""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (bmm got shapes {tuple(input.shape)} and {tuple(mat2.shape)})")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes {input.shape[0]} and {mat2.shape[0]} differ")
    return matmul(input, mat2, "bmm")


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """matrix-vector product"""
    return matmul(input, vec, "mv")


def dot(input: Tensor, other: Tensor) -> Tensor:
    """sum of the products of two 1-D tensors"""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape != other.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           "to have the same number of elements, but got different sizes")
    return matmul(input, other, "dot")


inner = dot


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """input[i] vec2[j]"""
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
            grads.append(_to_subscripts(partial, target, subscripts, array.shape))
        return grads


def _to_subscripts(partial: Any, target: str, subscripts: str, shape: tuple) -> Any:
    """Spread a gradient over `target` letters to the operand's subscripts: broadcast the letters it lacks and put
    repeated letters (diagonals) on the diagonal."""
    sizes = dict(zip(subscripts, shape))
    letters = "".join(dict.fromkeys(subscripts))
    expanded = xp.einsum(f"{target}->{target}", partial)
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
def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over dim (all entries when None); inf: max |x|, -inf: min |x|, 0: the nonzero count"""
    from .elementwise import floating
    from .reduce import amax, amin, sum
    x = floating(x) if dtype is None else x.to(dtype)
    dims = dim if dim is not None else ()
    if ord == math.inf:
        return amax(x.abs(), dims, keepdim)
    if ord == -math.inf:
        return amin(x.abs(), dims, keepdim)
    if ord == 0:
        return sum((x != 0).to(x.dtype), dim, keepdim)
    if ord == 2:
        return sum(x * x, dim, keepdim).sqrt()
    if ord == 1:
        return sum(x.abs(), dim, keepdim)
    return sum(x.abs() ** ord, dim, keepdim) ** (1.0 / ord)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False) -> Tensor:
    """the Frobenius norm ('fro'), or the largest column (1) / row (inf) absolute sum"""
    from .reduce import amax, sum
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        rows, cols = dim
        summed = sum(A.abs(), rows if ord in (1, -1) else cols, keepdim=True)
        other = cols if ord in (1, -1) else rows
        picked = amax(summed, other, keepdim=True) if ord > 0 else -amax(-summed, other, keepdim=True)
        return picked if keepdim else picked.squeeze(dim)
    raise NotImplementedError(f"matrix_norm: ord {ord!r} is not supported by nnci (it needs singular values)")


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """torch.norm: the 2-norm of all entries ('fro' or 2), or the vector p-norm over dim"""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("norm: the nuclear norm is not supported by nnci")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def linalg_norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: vector 2-norm by default; a matrix norm for a string ord or two dims"""
    if isinstance(ord, str) or (dim is not None and not isinstance(dim, int) and len(dim) == 2 and ord is not None):
        return matrix_norm(A, ord, tuple(dim) if dim is not None else (-2, -1), keepdim)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


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
