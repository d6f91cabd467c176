"""A/B of bench.py's training rows: the grid strategy and Winograd in training, each with BLAS on 2 threads and
with BLAS limited to one thread during the step, beside torch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/winograd_training_ab.py [NAME_PART ...]
        [--modes grid,winograd,torch] [--json out.json]

Blocks of 5 steps per mode after a pause, the modes alternating for 3 rounds, median per mode (as bench.py
times). Run it on an idle machine.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from threadpoolctl import ThreadpoolController  # noqa: E402

from bench import SETTLE_S, WORKLOADS  # noqa: E402
from nnci.ops import conv  # noqa: E402

TRAINING_ROWS = ["dncnn17_train_b16_40x40", "unet4_fwd_bwd_1x4x128x128", "vgg_train_b64_3x32x32",
                 "small_cnn_train_b64_28x28"]


BLAS = ThreadpoolController()  # found once: limiting through it costs no library scan per step


def modes_of(name: str) -> dict:
    """The zero-argument step of each mode for workload `name`: nnci in three settings and torch."""
    nnci_step, torch_step = WORKLOADS[name]("nnci"), WORKLOADS[name]("torch")

    def mode(winograd: bool, one_blas_thread: bool):
        def step():
            before, conv.WINOGRAD_IN_TRAINING = conv.WINOGRAD_IN_TRAINING, winograd
            try:
                if one_blas_thread:
                    with BLAS.limit(limits=1, user_api="blas"):
                        nnci_step()
                else:
                    nnci_step()
            finally:
                conv.WINOGRAD_IN_TRAINING = before
        return step
    return {"grid": mode(False, False), "winograd": mode(True, False), "winograd_blas1": mode(True, True),
            "grid_blas1": mode(False, True), "torch": torch_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="parts of bench.py workload names (default: the training rows)")
    parser.add_argument("--modes", default="grid,winograd,winograd_blas1,grid_blas1,torch",
                        help="comma-separated modes to time")
    parser.add_argument("--json", help="also write {workload: {mode: median seconds}} to this file")
    args = parser.parse_args()
    names = [n for n in WORKLOADS if any(part in n for part in args.names)] or TRAINING_ROWS
    results = {}
    for name in names:
        modes = {mode: step for mode, step in modes_of(name).items() if mode in args.modes.split(",")}
        for step in modes.values():  # warm-up: compilation, allocator
            step()
            step()
        times: dict = {mode: [] for mode in modes}
        for _ in range(3):
            for mode, step in modes.items():
                time.sleep(SETTLE_S)
                for _ in range(5):
                    start = time.perf_counter()
                    step()
                    times[mode].append(time.perf_counter() - start)
        median = {mode: statistics.median(values) for mode, values in times.items()}
        results[name] = median
        print(name, "  ".join(f"{mode} {median[mode] * 1e3:.0f} ms" for mode in modes), "| torch / nnci:",
              "  ".join(f"{mode} {median['torch'] / median[mode]:.2f}" for mode in modes if mode != "torch"),
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
