"""Small PyTorch programs (tests/programs) run once with torch and once with nnci standing in for torch
(python -m nnci.as_torch), unmodified; their results must agree. Each program prints `RESULT <json>` last."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.py"))
TOLERANCE = {"polynomial_fit": 1e-4, "lstm_sequence": 2e-4, "cnn_training": 2e-4}  # float32 sums over many terms


def run(program: Path, *prefix: str) -> dict:
    result = subprocess.run([sys.executable, *prefix, str(program)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{program.name} {' '.join(prefix) or 'under torch'} failed:\n{result.stderr[-3000:]}"
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"{program.name} printed no RESULT line:\n{result.stdout[-2000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def assert_close(ours, theirs, rtol, where="result"):
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), where
        for key in theirs:
            assert_close(ours[key], theirs[key], rtol, f"{where}.{key}")
    elif isinstance(theirs, list) and theirs and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          for v in theirs):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, rtol, f"{where}[{i}]")
    elif isinstance(theirs, (int, float, list)) and not isinstance(theirs, bool):
        np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=rtol, atol=rtol * 1e-2,
                                   err_msg=where)
    else:
        assert ours == theirs, f"{where}: nnci {ours!r}, torch {theirs!r}"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_means_the_same_under_nnci(program):
    theirs = run(program)
    ours = run(program, "-m", "nnci.as_torch")
    assert_close(ours, theirs, TOLERANCE.get(program.stem, 2e-5))
