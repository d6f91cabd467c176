"""torch.linalg's names for nnci's dense linear algebra (norms, inv, det, solve)."""
from .ops.linalg import det, inv, linalg_norm as norm, matmul, matrix_norm, solve, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "solve", "matmul"]


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci.linalg' has no attribute '{name}': nnci does not implement torch.linalg.{name}")
