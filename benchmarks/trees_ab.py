"""bench.py's nnci workloads timed in two or more source trees (e.g. a commit's `git archive` and this checkout), each
in fresh processes, the trees alternating.

    git archive 6fab05b | (mkdir -p /tmp/old && tar -x -C /tmp/old)
    python benchmarks/trees_ab.py --trees /tmp/old,. dncnn17_train_b16_40x40 small_cnn_train_b64_28x28

Per process: 3 warm-up steps, then --steps timed steps; min and median printed per process, one line each. Run it
on an idle machine.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r"""
import sys, time
tree, name, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path[:0] = [tree, tree + "/benchmarks"]
import bench  # the tree's own bench.py: imports its nnci first, keeps freed memory
step = bench.WORKLOADS[name]("nnci")
for _ in range(3):
    step()
seconds = []
for _ in range(steps):
    start = time.perf_counter()
    step()
    seconds.append(time.perf_counter() - start)
seconds.sort()
print(f"{tree:<16} {name:<40} min {seconds[0] * 1e3:8.1f}  median {seconds[len(seconds) // 2] * 1e3:8.1f} ms")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+", help="bench.py workload names")
    parser.add_argument("--trees", default=".", help="source trees, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    for _ in range(args.rounds):
        for tree in args.trees.split(","):
            for name in args.workloads:
                subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(tree), name, str(args.steps)], check=True)


if __name__ == "__main__":
    main()
