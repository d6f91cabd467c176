"""The backend's process settings: glibc's malloc keeps freed arrays for reuse (nnci/backend.py)."""
import os
import subprocess
import sys

import pytest

import nnci.backend as backend

# A "training step" after nnci's import: eight 6.4 MB activations allocated, then freed together, five times.
# Prints the minor page faults of the repeats. By default glibc hands the freed heap top back to the kernel,
# so each step faults its arrays in again page by page; a kept heap serves them again as they are.
FAULTS = """
import resource, numpy as np, nnci
nnci.backend.keep_freed_memory()
def step():
    arrays = [np.ones(1_600_000, np.float32) for _ in range(8)]
    del arrays
step()  # the first step faults: the heap grows once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(nnci.backend.freed_memory_kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(keep: str) -> tuple[str, int]:
    env = dict(os.environ, NNCI_KEEP_FREED_MEMORY=keep)
    out = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True, check=True)
    kept, faults = out.stdout.split()
    return kept, int(faults)


def test_import_leaves_malloc_alone():
    out = subprocess.run([sys.executable, "-c", "import nnci; print(nnci.backend.freed_memory_kept)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_arrays_are_reused_without_page_faults():
    kept, faults = _faults("1")
    assert kept == "True" and faults < 100, faults
    # The opt-out leaves malloc alone. Its fault count depends on the kernel's page policy (18,900 here, with
    # transparent huge pages on madvise; far fewer where they are always on), so only the switch is asserted.
    kept, faults = _faults("0")
    assert kept == "False", faults


def test_the_opt_out_changes_nothing(monkeypatch):
    monkeypatch.setenv("NNCI_KEEP_FREED_MEMORY", "0")
    assert backend.keep_freed_memory() is False
