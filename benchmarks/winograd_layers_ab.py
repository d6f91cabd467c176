"""Per-layer timings of 3x3 convolutions (forward + input and weight gradients, one layer): Winograd against the
grid path in one tree, or the same strategy across source trees (e.g. a commit's `git archive` against the
working tree).

    python benchmarks/winograd_layers_ab.py                                   # Winograd vs grid, this tree
    python benchmarks/winograd_layers_ab.py --trees /tmp/old,. --modes winograd  # the Winograd kernels, two trees

Each (tree, mode) runs in its own child process, the children alternating for --rounds rounds; a child times
--repeat steps after two warm-up steps and reports the median. The table is the median over rounds, in ms. Run
it on an idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

SHAPES = ["16x64x40x40", "1x64x256x256", "8x128x32x32", "1x32x128x128", "1x64x64x64", "1x128x32x32",
          "64x64x16x16", "64x128x8x8", "16x32x64x64"]  # N x C x H x W, C in and out

CHILD = r"""
import json, statistics, sys, time
import nnci  # first, as a program that starts with it: it sets OpenBLAS's thread timeout before NumPy loads
import numpy as np
from nnci.ops import conv
shapes, mode, repeat, threads = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
nnci.set_num_threads(threads)
nnci.backend.keep_freed_memory()  # as the Trainer does: no page faults from re-allocated activations
conv.WINOGRAD_MIN_TILES, conv.WINOGRAD_MIN_CHANNELS = (0, 0) if mode == "winograd" else (10 ** 12, 10 ** 12)
rng = np.random.default_rng(0)
result = {}
for shape in shapes:
    n, c, h, w = (int(v) for v in shape.split("x"))
    x = nnci.from_numpy(rng.standard_normal((n, c, h, w), dtype=np.float32)).requires_grad_()
    weight = nnci.from_numpy(rng.standard_normal((c, c, 3, 3), dtype=np.float32) * 0.05).requires_grad_()
    g = nnci.from_numpy(rng.standard_normal((n, c, h, w), dtype=np.float32))
    seconds = []
    for step in range(repeat + 2):
        x.grad = weight.grad = None
        start = time.perf_counter()
        nnci.nn.functional.conv2d(x, weight, padding=1).backward(g)
        seconds.append(time.perf_counter() - start)
    result[shape] = statistics.median(seconds[2:]) * 1e3
print(json.dumps(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default=".", help="source trees, comma-separated (default: this one)")
    parser.add_argument("--modes", default="winograd,grid", help="winograd, grid or both (default both)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="N x C x H x W layers, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    trees, modes, shapes = args.trees.split(","), args.modes.split(","), args.shapes.split(",")
    runs: dict = {(tree, mode): [] for tree in trees for mode in modes}
    for _ in range(args.rounds):
        for tree, mode in runs:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
            out = subprocess.run([sys.executable, "-c", CHILD, ",".join(shapes), mode, str(args.repeat),
                                  str(args.threads)], check=True, capture_output=True, text=True, env=env,
                                 cwd=os.path.abspath(tree)).stdout
            runs[(tree, mode)].append(json.loads(out.strip().splitlines()[-1]))
    columns = list(runs)
    print("| layer (N x C x H x W) | " + " | ".join(f"{mode} {tree}" for tree, mode in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for shape in shapes:
        cells = [f"{statistics.median(run[shape] for run in runs[column]):.2f}" for column in columns]
        print(f"| {shape} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
