"""Wall time of `nnci denoise run` alone and of two started together, on a generated gray photo.

    python benchmarks/side_by_side.py                  # 1536x1536, 2 rounds
    python benchmarks/side_by_side.py --size 1024x1024 --rounds 3

Each round runs: one command alone; two at once with the default threads (each command takes cores / nnci
commands running, nnci/cores.py); two at once with --threads 1 each. Times are whole commands (process start,
imports, Numba loading its cached kernels, reading and writing the images), as a user sees them. Run it on an idle
machine.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nnci.io import write_image  # noqa: E402


def command(photo: Path, out: Path, threads: int | None) -> list[str]:
    """The console command as a user types it, through this interpreter."""
    prefix = [sys.executable, "-m", "nnci.cli"] + ([] if threads is None else ["--threads", str(threads)])
    return prefix + ["denoise", "run", str(photo), "-o", str(out), "--quiet", "--force"]  # blind: the default model


def run_together(photo: Path, folder: Path, count: int, threads: int | None) -> list[float]:
    """Start `count` commands at once; the wall time of each, from the common start to its own end."""
    start = time.perf_counter()
    processes = [subprocess.Popen(command(photo, folder / f"out{i}.png", threads), stdout=subprocess.DEVNULL)
                 for i in range(count)]
    ends = []
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"{' '.join(process.args)} failed with exit code {process.returncode}")
        ends.append(time.perf_counter() - start)
    return ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1536x1536", help="HEIGHTxWIDTH of the photo")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    image = np.clip(rng.random((height, width)) * 0.6 + 0.2 + rng.normal(0, 25 / 255, (height, width)), 0, 1)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        photo = folder / "photo.png"
        write_image(photo, image.astype(np.float32))
        run_together(photo, folder, 1, None)  # compile or load the kernels once, outside the timings
        cases = {"alone": (1, None), "two at once, default threads": (2, None), "two at once, --threads 1": (2, 1)}
        times: dict = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (count, threads) in cases.items():
                times[name] += run_together(photo, folder, count, threads)
                time.sleep(1)
    print(f"nnci denoise run, {height}x{width} gray (noise sigma 25, estimated), {args.rounds} rounds: wall seconds "
          "per command")
    for name, values in times.items():
        print(f"  {name:<30} median {statistics.median(values):6.2f}  (all: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
