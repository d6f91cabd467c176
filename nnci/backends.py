"""torch.backends' flags, accepted for compatibility: nnci's CPU kernels are deterministic whatever they say."""
from __future__ import annotations

import types

cudnn = types.SimpleNamespace(deterministic=False, benchmark=False, enabled=True, allow_tf32=True,
                              is_available=lambda: False, version=lambda: None)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(is_built=lambda: False, matmul=types.SimpleNamespace(allow_tf32=False))
mkldnn = types.SimpleNamespace(is_available=lambda: False, enabled=False)
openmp = types.SimpleNamespace(is_available=lambda: False)
