"""torch.linalg's names for nnci's dense linear algebra (norms, inv, det, solve)."""
from .ops.linalg import (cholesky, cond, cross, matrix_exp, det, eigh, eigvalsh, inv, lstsq, matmul, matrix_norm, matrix_power,
                         matrix_rank, multi_dot, pinv, qr, solve, solve_triangular, svd, svdvals, vecdot,
                         vector_norm)
from .ops.linalg import linalg_norm as norm
from .ops.linalg import slogdet as _slogdet
from .ops.shape import diagonal as _diagonal
from .return_types import linalg_slogdet as _linalg_slogdet

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "matmul", "cholesky", "cross", "eigh",
           "eigvalsh", "svd", "svdvals", "qr", "pinv", "matrix_rank", "lstsq", "matrix_power", "multi_dot", "vecdot",
           "diagonal", "solve_triangular", "cond", "matrix_exp"]


def slogdet(A):  # type: ignore[no-untyped-def]
    """(sign, log |det A|), as torch.linalg.slogdet's named tuple"""
    return _linalg_slogdet(*_slogdet(A))


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):  # type: ignore[no-untyped-def]
    """the offset diagonal of the last two dims"""
    return _diagonal(A, offset, dim1, dim2)


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci.linalg' has no attribute '{name}': nnci does not implement torch.linalg.{name}")
