import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
torch.set_num_threads(2)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name, so each case is random but reproducible."""
    import zlib
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
