"""A/B of OpenBLAS's thread timeout (how long its idle threads spin after a call) on bench.py's training rows,
the grid strategy and Winograd in training, beside torch.

    python benchmarks/blas_timeout_ab.py [--timeouts 28,18] [--rounds 2] [NAME_PART ...]

OpenBLAS reads OPENBLAS_THREAD_TIMEOUT (2^value cycles; its own default is 28) once, when it loads, so each
value runs in its own process (winograd_training_ab.py); the values alternate for `rounds` rounds and the table
gives the median over rounds. Run it on an idle machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("grid", "winograd", "torch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=["dncnn17_train", "unet4", "vgg_train", "small_cnn_train"])
    parser.add_argument("--timeouts", default="28,18", help="comma-separated OPENBLAS_THREAD_TIMEOUT values")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    timeouts = args.timeouts.split(",")
    runs: dict = {t: [] for t in timeouts}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for timeout in timeouts:
                out = Path(scratch) / f"{timeout}-{round_}.json"
                env = {**os.environ, "OPENBLAS_THREAD_TIMEOUT": timeout}
                for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
                    env.pop(name, None)
                subprocess.run([sys.executable, str(HERE / "winograd_training_ab.py"), *args.names,
                                "--modes", ",".join(MODES), "--json", str(out)], env=env, check=True)
                runs[timeout].append(json.loads(out.read_text()))
    print("\n| workload | OPENBLAS_THREAD_TIMEOUT | grid ms | Winograd ms | torch ms | ratio grid | ratio Winograd |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in runs[timeouts[0]][0]:
        for timeout in timeouts:
            median = {mode: statistics.median(run[name][mode] for run in runs[timeout])
                      for mode in MODES}
            print(f"| {name} | {timeout} | {median['grid'] * 1e3:.0f} | {median['winograd'] * 1e3:.0f} | "
                  f"{median['torch'] * 1e3:.0f} | {median['torch'] / median['grid']:.2f} | "
                  f"{median['torch'] / median['winograd']:.2f} |")


if __name__ == "__main__":
    main()
