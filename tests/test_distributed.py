"""Data-parallel training on MPI: N ranks with a global batch B compute what one process computes with
batch B, through the Trainer and through `mpiexec -n N nnci ...`; a resume from an N-rank checkpoint on one
rank continues the same sequence; a dead or hanging rank ends the job with a message instead of a hang."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from nnci import distributed
from nnci.serialization import load_safetensors

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
NNCI = [sys.executable, "-m", "nnci.cli", "--threads", "1"]


def mpiexec(ranks, *argv, timeout=300, env=None):
    assert MPIEXEC, "mpiexec not found: the test extra installs mpi4py and mpich"
    return subprocess.run([MPIEXEC, "-n", str(ranks), *argv], capture_output=True, text=True, timeout=timeout,
                          env=env or ENV)


def tensors(path):
    return {k: v.numpy() for k, v in load_safetensors(path).items()}


def assert_close_tensors(a, b, atol):
    """Equal up to float32 rounding: atol, and as much relative (sums in another order round differently)."""
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=atol, atol=atol, err_msg=key)


# ----- one process: the pieces ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_distributed_sampler_deals_the_indices_as_torch_does(seed):
    rng = np.random.default_rng(seed)
    size, replicas = int(rng.integers(1, 40)), int(rng.integers(1, 6))
    for drop_last in (False, True):
        ours = [list(distributed.DistributedSampler(range(size), replicas, r, shuffle=False, drop_last=drop_last))
                for r in range(replicas)]
        theirs = [list(torch.utils.data.distributed.DistributedSampler(range(size), replicas, r, shuffle=False,
                                                                       drop_last=drop_last)) for r in range(replicas)]
        assert ours == theirs
        shuffled = [list(distributed.DistributedSampler(range(size), replicas, r, seed=seed, drop_last=drop_last))
                    for r in range(replicas)]
        dealt = [i for part in shuffled for i in part]
        assert len({len(part) for part in shuffled}) == 1 and len(dealt) == sum(len(part) for part in theirs)
        if drop_last:
            assert len(set(dealt)) == len(dealt)  # disjoint
        else:
            assert set(dealt) == set(range(size))  # every index, a few twice as padding


def test_shards_cover_a_batch_once_in_order():
    for count in range(0, 30):
        for parts in range(1, 7):
            bounds = [distributed.shard_bounds(count, parts, index) for index in range(parts)]
            assert bounds[0][0] == 0 and bounds[-1][1] == count
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            assert max(b - a for a, b in bounds) - min(b - a for a, b in bounds) <= 1


def test_alone_every_collective_is_the_identity():
    values = np.arange(5.0)
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main()
    assert distributed.all_reduce(values.copy()).tolist() == values.tolist()
    assert distributed.all_gather_object({"a": 1}) == [{"a": 1}]
    assert distributed.shard(list(range(5))) == list(range(5))


# ----- N ranks through the Trainer ------------------------------------------------------------
TRAINER_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import nnci, nnci.nn as nn
    from nnci import distributed
    from nnci.backend import Generator
    from nnci.data import DataLoader, TensorDataset
    from nnci.train import Trainer
    distributed.init()
    norm, batch, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    nnci.manual_seed(0)
    middle = {"none": nn.Tanh(), "sync": nn.BatchNorm1d(16)}[norm]
    model = nn.Sequential(nn.Linear(5, 16, bias=norm == "none"), middle, nn.ReLU(), nn.Linear(16, 1))
    if norm == "sync":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((70, 5)).astype(np.float32)
    y = rng.standard_normal((70, 1)).astype(np.float32)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=Generator().manual_seed(1))
    optimizer = nnci.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = Trainer(model, optimizer, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), loader, epochs=4,
                      progress=False, log=lambda line: None).fit()
    if distributed.is_main():
        np.savez(out, **{k: v.detach().numpy() for k, v in model.state_dict().items()},
                 losses=np.array(history["step_loss"]))
""")


@pytest.mark.parametrize("norm, atol", [("none", 1e-6), ("sync", 1e-5)])
def test_ranks_with_a_global_batch_compute_the_one_process_step(norm, atol, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAINER_SCRIPT)
    alone = tmp_path / "alone.npz"
    subprocess.run([sys.executable, str(script), norm, "16", str(alone)], check=True, env=ENV, timeout=120)
    expected = dict(np.load(alone))
    for ranks in (2, 3):  # 70 samples in batches of 16: 3 ranks share 16 as 6/5/5 and the last 6 as 2/2/2
        out = tmp_path / f"ranks{ranks}.npz"
        result = mpiexec(ranks, sys.executable, str(script), norm, "16", str(out))
        assert result.returncode == 0, result.stderr
        assert_close_tensors(dict(np.load(out)), expected, atol)


def test_sync_batch_norm_statistics_are_those_of_the_whole_batch(tmp_path):
    """Against torch's BatchNorm1d on the whole batch: the 2-rank SyncBatchNorm's output and input gradient."""
    script = tmp_path / "sync.py"
    script.write_text(textwrap.dedent("""
        import sys
        import numpy as np
        import nnci
        from nnci import distributed
        distributed.init()
        x = np.random.default_rng(3).standard_normal((10, 4, 3)).astype(np.float32) * 2 + 1
        g = np.random.default_rng(4).standard_normal((10, 4, 3)).astype(np.float32)
        start, stop = distributed.shard_bounds(10)
        layer = nnci.nn.SyncBatchNorm(4)
        mine = nnci.tensor(x[start:stop], requires_grad=True)
        out = layer(mine)
        (out * nnci.tensor(g[start:stop])).sum().backward()
        parts = distributed.all_gather_object([out.detach().numpy().tolist(), mine.grad.numpy().tolist()])
        if distributed.is_main():
            np.savez(sys.argv[1], out=np.concatenate([np.array(p[0]) for p in parts]),
                     grad=np.concatenate([np.array(p[1]) for p in parts]),
                     running_mean=layer.running_mean.numpy(), running_var=layer.running_var.numpy(),
                     weight_grad=layer.weight.grad.numpy())
    """))
    result = mpiexec(2, sys.executable, str(script), str(tmp_path / "sync.npz"))
    assert result.returncode == 0, result.stderr
    got = np.load(tmp_path / "sync.npz")
    x = torch.tensor(np.random.default_rng(3).standard_normal((10, 4, 3)).astype(np.float32) * 2 + 1,
                     requires_grad=True)
    g = torch.tensor(np.random.default_rng(4).standard_normal((10, 4, 3)).astype(np.float32))
    layer = torch.nn.BatchNorm1d(4)
    out = layer(x)
    (out * g).sum().backward()
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(got["grad"], x.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(got["running_mean"], layer.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(got["running_var"], layer.running_var.numpy(), atol=1e-5)
    # the weight's gradient of rank 0 is its shard's part only: the Trainer sums parameter gradients
    assert got["weight_grad"].shape == (4,)


# ----- N ranks through the command line ---------------------------------------------------------
APPROXIMATE = ["approximate", "train", "--units", "8", "--epochs", "120", "--checkpoint-every", "10", "--quiet"]


def test_mpiexec_nnci_train_equals_one_process_and_resumes_on_one_rank(tmp_path):
    alone = tmp_path / "alone"
    subprocess.run([*NNCI, *APPROXIMATE, "--out", str(alone)], check=True, env=ENV, capture_output=True, timeout=300)
    two = tmp_path / "two"
    result = mpiexec(2, *NNCI, *APPROXIMATE, "--out", str(two))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("model written to") == 1  # rank 0 alone speaks
    assert_close_tensors(tensors(two / "model.safetensors"), tensors(alone / "model.safetensors"), 1e-6)
    expected_losses = json.loads((alone / "history.json").read_text())["step_loss"]
    np.testing.assert_allclose(json.loads((two / "history.json").read_text())["step_loss"], expected_losses,
                               rtol=1e-5, atol=1e-7)

    # Ctrl-C to the 2-rank job: both ranks stop after the same step, rank 0 checkpoints; one rank resumes
    run = tmp_path / "interrupted"
    process = subprocess.Popen([MPIEXEC, "-n", "2", *NNCI, *APPROXIMATE, "--out", str(run)], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch 50/"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode != 0 and out.count("interrupted at step") == 1, out + err
    step = json.loads(__import__("nnci").serialization.safetensors_metadata(run / "checkpoint.safetensors")
                      ["nnci_trainer"])["step"]
    assert 50 <= step < 120
    result = subprocess.run([*NNCI, *APPROXIMATE, "--out", str(run), "--resume"], env=ENV, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_close_tensors(tensors(run / "model.safetensors"), tensors(alone / "model.safetensors"), 1e-6)


def test_mpiexec_run_writes_each_output_once_and_as_one_process_does(tmp_path):
    from nnci.io import write_image
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for index in range(5):
        write_image(photos / f"p{index}.png", rng.random((24 + index, 30)).astype(np.float32))
    alone = subprocess.run([*NNCI, "denoise", "run", str(photos), "-o", str(tmp_path / "alone"), "--quiet"],
                           env=ENV, capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr
    result = mpiexec(2, *NNCI, "denoise", "run", str(photos), "-o", str(tmp_path / "two"), "--quiet")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "alone").iterdir()) and len(names) == 5
    for name in names:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes(), name


# ----- failures end the job -------------------------------------------------------------------
HANG_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from nnci import distributed
    distributed.init()
    open(os.path.join(sys.argv[1], f"rank{distributed.rank()}.pid"), "w").write(str(os.getpid()))
    if distributed.rank() == 1 and sys.argv[2] == "hang":
        time.sleep(600)
    while True:
        distributed.all_reduce(np.ones(4))
        time.sleep(0.01)
""")


@pytest.mark.parametrize("failure", ["killed", "hang"])
def test_a_dead_or_hanging_rank_ends_the_job_with_a_message(failure, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(HANG_SCRIPT)
    env = {**ENV, "NNCI_MPI_TIMEOUT": "3"}
    start = time.monotonic()
    process = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, str(script), str(tmp_path), failure], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = tmp_path / "rank1.pid"
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() - start < 60 and process.poll() is None
        time.sleep(0.05)
    if failure == "killed":
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert time.monotonic() - start < 60
    if failure == "hang":
        assert "rank 0 of 2: allreduce got no answer from the other ranks for 3 s" in err, (process.returncode, out, err)
    else:
        assert "KILLED BY SIGNAL: 9" in (out + err) or "killed" in (out + err).lower(), out + err


def test_mpiexec_run_with_one_results_file_gathers_every_row_in_input_order(tmp_path):
    from nnci.io import write_image
    subprocess.run([*NNCI, "classify", "train", "--epochs", "1", "--out", str(tmp_path / "c"), "--quiet"], check=True,
                   env=ENV, capture_output=True, timeout=300)
    digits = tmp_path / "digits"
    digits.mkdir()
    for index in range(5):
        write_image(digits / f"{index}.png", np.random.default_rng(index).random((16, 16)).astype(np.float32))
    weights = ["--weights", str(tmp_path / "c" / "model.safetensors"), "--quiet"]
    subprocess.run([*NNCI, "classify", "run", str(digits), "-o", str(tmp_path / "alone.json"), *weights], check=True,
                   env=ENV, capture_output=True, timeout=300)
    result = mpiexec(2, *NNCI, "classify", "run", str(digits), "-o", str(tmp_path / "two.json"), *weights)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "two.json").read_text()) == json.loads((tmp_path / "alone.json").read_text())


def test_a_batch_smaller_than_the_ranks_is_one_line_not_an_internal_error(tmp_path):
    result = mpiexec(2, *NNCI, "classify", "train", "--batch", "1", "--epochs", "1", "--quiet", "--out",
                     str(tmp_path / "run"))
    assert result.returncode == 1, result.stderr
    assert "a batch of 1 cannot be shared by 2 ranks; use a batch of at least 2" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
