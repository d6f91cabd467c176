"""nnci commands running side by side split the cores instead of oversubscribing them."""
import os
import subprocess
import sys

import numpy as np

from nnci import cores


NNCI_IDLE = [sys.executable, "-m", "nnci.cli", "learn", "--port", "0", "--no-browser"]  # a real nnci process


def test_fair_share_splits_the_cores_and_keeps_one_thread():
    assert [cores.fair_share(2, n) for n in (1, 2, 3)] == [2, 1, 1]
    assert [cores.fair_share(16, n) for n in (1, 2, 3, 5, 40)] == [16, 8, 5, 3, 1]


def test_the_registry_lists_live_commands_and_drops_ended_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCI_RUNTIME_DIR", str(tmp_path))
    live = subprocess.Popen(NNCI_IDLE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a reused pid, say
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    try:
        mine = cores.register()
        for pid in (live.pid, ended.pid, stranger.pid):
            (tmp_path / str(pid)).touch()
        (tmp_path / "not-a-pid").touch()
        assert cores.running_commands() == sorted([os.getpid(), live.pid])
        assert not (tmp_path / str(ended.pid)).exists() and not (tmp_path / str(stranger.pid)).exists()
        cores.unregister(mine)
        assert cores.running_commands() == [live.pid]
    finally:
        for process in (live, stranger):
            process.kill()
            process.wait()
    assert cores.running_commands() == []


def _nnci(*argv, env):
    return subprocess.run([sys.executable, "-m", "nnci.cli", *argv], capture_output=True, text=True, env=env,
                          timeout=300)


def test_a_command_beside_another_takes_its_share_and_training_keeps_its_threads(tmp_path):
    from nnci.io import write_image
    env = {**os.environ, "NNCI_RUNTIME_DIR": str(tmp_path / "running")}
    write_image(tmp_path / "photo.png", np.random.default_rng(0).random((48, 40)).astype(np.float32))
    run = ["denoise", "run", str(tmp_path / "photo.png"), "--sigma", "20", "--quiet", "--force", "-o"]
    alone = _nnci(*run, str(tmp_path / "a.png"), env=env)
    assert alone.returncode == 0 and "other nnci command" not in alone.stderr
    other = subprocess.Popen(NNCI_IDLE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (tmp_path / "running" / str(other.pid)).touch()
        beside = _nnci(*run, str(tmp_path / "b.png"), env=env)
        expected = cores.fair_share(cores.usable_cores(), 2)
        assert beside.returncode == 0, beside.stderr
        assert f"nnci: 1 other nnci command running: {expected} thread" in beside.stderr
        chosen = _nnci("--threads", "2", *run, str(tmp_path / "c.png"), env=env)
        assert chosen.returncode == 0 and "other nnci command" not in chosen.stderr
        train = _nnci("approximate", "train", "--units", "4", "--epochs", "2", "--quiet", "--out", str(tmp_path / "t"), env=env)
        assert train.returncode == 0 and "other nnci command" not in train.stderr
        assert sorted(int(p.name) for p in (tmp_path / "running").iterdir()) == [other.pid]  # each removed itself
    finally:
        other.kill()
        other.wait()


def test_a_run_takes_its_share_again_when_another_command_starts_or_ends(tmp_path, monkeypatch, capsys):
    """Two commands started together may both count before the other registers: run's work loop re-counts before
    each item, and takes the cores back when the other command has ended."""
    from nnci import backend, cli
    from nnci.tasks.common import share_of_work
    monkeypatch.setenv("NNCI_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(cores, "usable_cores", lambda: 4)
    chosen = []
    monkeypatch.setattr(backend, "set_num_threads", chosen.append)
    mine = cores.register()
    other = subprocess.Popen(NNCI_IDLE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        monkeypatch.setitem(cli._shared, "threads", None)
        cli._share_cores(cores)  # alone at the start: all cores, nothing to set
        assert chosen == []
        monkeypatch.setattr(cores, "resharer", lambda: cli._share_cores(cores))
        items = share_of_work(["a", "b", "c"], True, "testing")
        (tmp_path / str(other.pid)).touch()  # the other command registers after this one counted
        assert next(items) == "a" and chosen == [2]
        assert next(items) == "b" and chosen == [2]  # unchanged: nothing set again
        other.kill()
        other.wait()
        assert next(items) == "c" and chosen == [2, 4]
    finally:
        other.kill()
        other.wait()
        cores.unregister(mine)
    err = capsys.readouterr().err
    assert "nnci: 1 other nnci command running: 2 threads" in err and "nnci: no other nnci command running: 4" in err
