"""Interrupting `nnci denoise train` (batch norm, shuffled patches, random noise per step) with SIGINT or
SIGKILL at random moments, then resuming, gives the weights, buffers and history of the run that was never
interrupted, bit for bit."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nnci import kernels

from nnci.serialization import load_safetensors

TRAIN = ["--threads", "1", "denoise", "train", "--epochs", "3", "--patches", "192", "--batch", "16", "--depth", "5", "--width", "12",
         "--checkpoint-every", "2", "--quiet"]
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}  # lines arrive as printed


def nnci(*argv, **kw):
    return subprocess.Popen([sys.executable, "-m", "nnci.cli", *argv], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finished(out):
    """The model's tensors and the history without its wall-clock seconds."""
    tensors = {k: v.numpy() for k, v in load_safetensors(out / "model.safetensors").items()}
    history = json.loads((out / "history.json").read_text())
    history["epochs"] = [{k: v for k, v in e.items() if k != "seconds"} for e in history["epochs"]]
    history.pop("stopped", None)
    return tensors, history


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run and its duration, timed on a second run: the first may compile and cache
    kernels, which would make the random moments of the interrupted runs fall after their end."""
    for attempt in ("warm-up", "timed"):
        out = tmp_path_factory.mktemp(f"straight-{attempt}") / "run"
        process = nnci(*TRAIN, "--out", str(out))
        assert process.stdout.readline().startswith("training DnCNN-5")
        start = time.perf_counter()
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    return finished(out), time.perf_counter() - start


@pytest.mark.parametrize("signal_number, seed", [(signal.SIGINT, 0), (signal.SIGINT, 1), (signal.SIGINT, 2),
                                                 (signal.SIGKILL, 3), (signal.SIGKILL, 4), (signal.SIGKILL, 5)])
def test_interrupt_at_a_random_moment_then_resume_is_bit_identical(tmp_path, straight, signal_number, seed):
    out = tmp_path / "run"
    (expected_tensors, expected_history), seconds = straight
    delay = np.random.default_rng(seed).uniform(0.0, 0.8) * seconds  # somewhere inside the training
    for _ in range(4):  # a run may go faster than the measured one: then the moment comes earlier
        process = nnci(*TRAIN, "--out", str(out))
        assert process.stdout.readline().startswith("training DnCNN-5")  # training has begun
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal_number)
        _, err = process.communicate(timeout=600)
        if process.returncode != 0:
            break
        shutil.rmtree(out)  # it had finished (or was writing its last files): no interrupt was tested
        delay /= 2
    else:
        pytest.fail(f"every run finished within {delay * 2:.2f} s, before it could be interrupted")
    assert process.returncode == (130 if signal_number == signal.SIGINT else -signal.SIGKILL), err
    if signal_number == signal.SIGINT:
        assert "Traceback" not in err and "interrupted" in err, err
    attempts = 0
    while not (out / "model.safetensors").exists():  # resume until done (SIGKILL may leave no checkpoint yet)
        attempts += 1
        again = nnci(*TRAIN, "--out", str(out), "--resume" if (out / "checkpoint.safetensors").exists() else "--force")
        _, err = again.communicate(timeout=600)
        assert again.returncode == 0, err
        assert attempts < 3
    tensors, history = finished(out)
    assert tensors.keys() == expected_tensors.keys()
    for key in tensors:  # weights and batch-norm buffers
        np.testing.assert_array_equal(tensors[key], expected_tensors[key], err_msg=key)
    assert history == expected_history


def interrupted_demo(delay: float, env: dict) -> tuple[int, str]:
    """(exit code, stderr) of the console command's `demo`, sent SIGINT after `delay` seconds."""
    process = subprocess.Popen([sys.executable, "-c", "import sys, nnci_command; sys.exit(nnci_command.main())",
                                "demo", "--epochs", "1", "--quiet"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.mark.skipif(not kernels.compiled, reason="NNCI_KERNELS=reference: nothing is compiled")
@pytest.mark.parametrize("delay", [0.8, 1.1, 1.4])
def test_ctrl_c_while_numba_compiles_a_kernel_is_one_line(delay, tmp_path):
    """With an empty kernel cache the demo's first batch norm compiles (the whole run takes about 4 s): Ctrl-C
    then lands in the JIT compiler's C callbacks, where Python would print it as an ignored exception and go
    on. It still ends the command with one line."""
    code, err = interrupted_demo(delay, {**ENV, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert code == 130 and err.strip() == "nnci: interrupted", (code, err)


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.45, 0.6, 0.8, 1.0])
def test_ctrl_c_while_nnci_is_still_loading_is_one_line(delay):
    """The console command imports nnci inside its guard: Ctrl-C before training starts is not a traceback.
    (The interpreter's own first tenth of a second, before any line of nnci runs, cannot be guarded: a
    signal there interrupts Python's or NumPy's start-up.)"""
    code, err = interrupted_demo(delay, ENV)
    assert "Traceback" not in err, err
    if code == 130:
        assert err.strip() == "nnci: interrupted", err
    else:  # it had finished; a signal in the interpreter's own shutdown may still end it by SIGINT
        assert code in (0, -signal.SIGINT) and err == "", err
