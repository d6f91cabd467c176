"""Data-parallel training speed on this machine: DnCNN training steps per second with one process of two
threads against two MPI ranks of one thread each (the same global batch), the bytes each step sends, and
the allreduce time per MB. Run it alone on an idle machine:

    python benchmarks/distributed.py [--json out.json]

It starts itself as the workers (once alone, once under mpiexec -n 2) and prints one table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

STEPS, WARMUP, BATCH, PATCH, DEPTH, WIDTH = 30, 5, 32, 40, 10, 32


def worker(threads: int) -> dict:
    import numpy as np
    import nnci
    from nnci import distributed
    from nnci.backend import Generator, set_num_threads
    from nnci.data import DataLoader, TensorDataset
    from nnci.models import DnCNN
    from nnci.train import Trainer
    distributed.init()
    set_num_threads(threads)
    nnci.manual_seed(0)
    model = DnCNN(1, depth=DEPTH, width=WIDTH)
    rng = np.random.default_rng(0)
    clean = rng.random((BATCH * (STEPS + WARMUP), 1, PATCH, PATCH), dtype=np.float32)
    noisy = clean + 0.1 * rng.standard_normal(clean.shape, dtype=np.float32)

    def run(count: int) -> float:
        loader = DataLoader(TensorDataset(noisy[:count * BATCH], clean[:count * BATCH]), batch_size=BATCH,
                            shuffle=True, generator=Generator().manual_seed(0))
        trainer = Trainer(model, nnci.optim.Adam(model.parameters(), lr=1e-3),
                          lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), loader, epochs=1, progress=False,
                          log=lambda line: None)
        distributed.barrier()
        start = time.perf_counter()
        trainer.fit()
        distributed.barrier()
        return time.perf_counter() - start

    run(WARMUP)
    seconds = run(STEPS)
    parameters = sum(p.numel() for p in model.parameters())
    result = {"ranks": distributed.world_size(), "threads_per_rank": threads, "steps_per_second": STEPS / seconds,
              "parameters": parameters, "gradient_bytes_per_step": 4 * parameters}
    if distributed.is_parallel():
        timings = {}
        for megabytes in (1, 4, 16):
            buffer = np.ones(megabytes * 2 ** 18, np.float32)
            distributed.all_reduce(buffer)
            distributed.barrier()
            start = time.perf_counter()
            for _ in range(20):
                distributed.all_reduce(buffer)
            timings[megabytes] = (time.perf_counter() - start) / 20
        result["allreduce_ms_per_mb"] = {str(mb): 1e3 * t / mb for mb, t in timings.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        result = worker(args.worker)
        from nnci import distributed
        if distributed.is_main():
            with open(args.result, "w") as handle:
                json.dump(result, handle)
        return
    import tempfile
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install '.[mpi]'")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for launcher, threads in (([], 2), ([mpiexec, "-n", "2"], 1)):
            path = os.path.join(scratch, "result.json")
            env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
            subprocess.run([*launcher, sys.executable, __file__, "--worker", str(threads), "--result", path],
                           check=True, env=env)
            with open(path) as handle:
                rows.append(json.load(handle))
    one, two = rows
    print(f"DnCNN-{DEPTH} width {WIDTH}, batch {BATCH} of {PATCH}x{PATCH}, {STEPS} Adam steps "
          f"({one['parameters']:,} parameters, {one['gradient_bytes_per_step'] / 2 ** 20:.2f} MB of gradients per step)")
    for row in rows:
        print(f"  {row['ranks']} rank(s) x {row['threads_per_rank']} thread(s): {row['steps_per_second']:.2f} steps/s")
    print(f"  2 ranks / 1 rank: {two['steps_per_second'] / one['steps_per_second']:.2f}x")
    print("  allreduce on this machine (2 ranks, shared memory): " +
          ", ".join(f"{ms:.3f} ms/MB at {mb} MB" for mb, ms in two["allreduce_ms_per_mb"].items()))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
