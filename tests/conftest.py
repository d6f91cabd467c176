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


@pytest.fixture(autouse=True)
def _work_in_a_scratch_folder(tmp_path_factory, monkeypatch):
    """Each test runs in its own empty working directory, so that what a command writes to the working
    directory by default (eval's pictures, say) never lands in the checkout."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
