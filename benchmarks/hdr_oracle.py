"""The oracle sweep of `nnci hdr`: can the data show that spreading light helps at all?

For each spread energy e and seed, the same U-Net is trained behind a FIXED PSF (1 - e) delta + e S (S a wide
Gaussian or streaks, never trained) at the same budget, and scored on the held-out scenes: tone-mapped PSNR and
sqrt-linear PSNR (the domain of Metzler et al.'s loss), over all pixels and over the saturated ones. e = 0 is
the ideal lens. If e = 0 wins in the saturated regions, the scenes or the loss hide the effect and learned
optics cannot show it either.

    python benchmarks/hdr_oracle.py --epochs 20 --seeds 0 --spreads 0,0.01,0.03,0.1 --out /tmp/oracle.md

Every finished run is added to the JSON (--runs, default OUT with .json) at once; a run already there with the same
settings is not trained again, so a second call with more seeds, or the other shape (e = 0 is the same delta for
both), trains only the new runs (--fresh: all again).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's nnci, run from anywhere

from nnci.backend import set_num_threads  # noqa: E402
from nnci.tasks import hdr  # noqa: E402
from nnci.tasks.options import numbers, resolve, to_json  # noqa: E402

LEARNED, DOE = "learned", "doe"  # the learned optics, trained beside the fixed PSFs and paired with e = 0
FLAT_DOE = "flat-doe"  # the DOE's control: a flat plate (the diffraction-limited lens), never trained
OPTICS_RUNS = {LEARNED: "learned PSF", DOE: "height-map DOE", FLAT_DOE: "flat DOE plate"}  # runs named, not spreads
# Options added to hdr train after runs were recorded, with the value those runs ran with: a recorded run lacking
# one matches settings that hold this value (frozen here, so a later change of a default matches nothing old).
ADDED_LATER = {"speckle": 0.05, "smoothness": 0.0}
METRICS = (("tm_psnr", "tone-mapped, all"), ("tm_psnr_saturated", "tone-mapped, saturated"),
           ("sqrt_psnr", "sqrt-linear, all"), ("sqrt_psnr_saturated", "sqrt-linear, saturated"))


def settings_of(args: argparse.Namespace, spread: float | str, seed: int) -> dict:
    """The hdr.train overrides of one run (checked by hdr.Config, so a bad value fails before any training);
    spread "learned" is the learned PSF (softmax, its default start), "doe" the height-map DOE seen in three colours
    (its speckle start), at the same budget and loss."""
    # e = 0 is the delta whatever the shape: one run serves the sweeps of both shapes
    overrides = {"optics": "fixed", "spread": spread, "spread_shape": args.shape if spread else "gaussian",
                 "loss": args.loss, "epochs": args.epochs, "minutes": args.minutes, "seed": seed, "baseline": False}
    if spread in OPTICS_RUNS:
        overrides = {"optics": DOE if spread == FLAT_DOE else spread, "loss": args.loss, "epochs": args.epochs,
                     "minutes": args.minutes, "seed": seed, "baseline": False}
    if spread == FLAT_DOE:
        overrides.update(speckle=0, optics_warmup=args.epochs)
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key.replace("-", "_")] = value
    return to_json(resolve(hdr.Config, None, overrides))


def train_and_score(settings: dict) -> dict:
    """One run: train with `settings`, score on the held-out scenes; the scores and the minutes it took."""
    start = time.perf_counter()
    model = hdr.train(progress=False, **settings)
    trained = time.perf_counter() - start
    scores = hdr.evaluate(model)["model"]
    return {"settings": settings, "scores": scores, "train_minutes": trained / 60,
            "minutes": (time.perf_counter() - start) / 60}


def spread_of(values: list) -> str:
    """mean +- sample standard deviation (min-max) of values over seeds; the mean alone for one seed"""
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {statistics.stdev(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def table(runs: dict, args: argparse.Namespace) -> str:
    """The markdown table: per e, each metric's mean and spread over seeds, and the paired difference to e = 0
    (same seed: same scenes, initialisation and batches) in the saturated regions."""
    header = ["e (energy off the centre)", "seeds"] + [name for _, name in METRICS] + [
        "sqrt-linear saturated, minus e = 0 (paired)", "minutes per run"]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for spread in sweep(args):
        found = [(seed, runs[(spread, seed)]) for seed in args.seeds if (spread, seed) in runs]
        if not found:
            continue
        cells = [spread if spread in OPTICS_RUNS else f"{spread:g}", ",".join(str(seed) for seed, _ in found)]
        cells += [spread_of([run["scores"][key] for _, run in found]) for key, _ in METRICS]
        paired = [run["scores"]["sqrt_psnr_saturated"] - runs[(0.0, seed)]["scores"]["sqrt_psnr_saturated"]
                  for seed, run in found if (0.0, seed) in runs]
        cells.append("" if spread == 0 or not paired else spread_of(paired))
        cells.append(f"{statistics.fmean(run['minutes'] for _, run in found):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sweep(args: argparse.Namespace) -> list:
    """The spreads, then the learned optics asked for."""
    return (list(args.spreads) + ([LEARNED] if args.learned else []) + ([DOE] if args.doe else [])
            + ([FLAT_DOE] if args.flat_doe else []))


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spreads", type=numbers(0, 0.999), default=[0.0, 0.01, 0.03, 0.1],
                        help="spread energies e, comma-separated, each in [0, 1) (default 0,0.01,0.03,0.1)")
    parser.add_argument("--seeds", type=lambda text: [int(part) for part in text.split(",")], default=[0],
                        help="seeds, comma-separated (default 0)")
    parser.add_argument("--shape", choices=("gaussian", "streaks"), default="gaussian",
                        help="where the spread energy goes (default gaussian)")
    parser.add_argument("--loss", choices=hdr.LOSSES, default="sqrt-linear", help="training loss (default sqrt-linear)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run, the budget (default 20)")
    parser.add_argument("--minutes", type=float, default=7 * 24 * 60,
                        help="wall-time cap per run in minutes (default: none, so the epochs alone set the budget, "
                             "the same work on any machine)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other hdr train option for every run, e.g. --set read_noise=0 (repeatable)")
    parser.add_argument("--learned", action="store_true",
                        help="also train the learned PSF (hdr's --optics learned) per seed, paired with e = 0")
    parser.add_argument("--doe", action="store_true",
                        help="also train the height-map DOE (hdr's --optics doe) per seed, paired with e = 0")
    parser.add_argument("--flat-doe", action="store_true",
                        help="also train behind the DOE's flat plate, frozen (the diffraction-limited lens), per seed")
    parser.add_argument("--threads", type=int, default=1, help="threads for BLAS and the kernels (default 1)")
    parser.add_argument("--fresh", action="store_true", help="train every run again, even those in the JSON")
    parser.add_argument("--out", type=Path, required=True, help="the markdown table")
    parser.add_argument("--runs", type=Path, help="the JSON of the runs, read and added to (default OUT with .json)")
    args = parser.parse_args(argv)
    set_num_threads(args.threads)
    record = args.runs or args.out.with_suffix(".json")
    done = json.loads(record.read_text())["runs"] if record.exists() and not args.fresh else []
    runs = {}
    for seed in args.seeds:  # seed by seed: the first pass over the spreads is a complete one-seed sweep
        for spread in sweep(args):
            settings = settings_of(args, spread, seed)
            previous = [run for run in done if {**ADDED_LATER, **run["settings"]} == settings]
            if previous:
                runs[(spread, seed)] = previous[0]
                continue
            what = OPTICS_RUNS.get(spread) or f"e = {spread:g}, {args.shape}"
            print(f"{what}, seed {seed}: training ({args.loss} loss, {args.epochs} epochs)", flush=True)
            run = train_and_score(settings)
            runs[(spread, seed)] = run
            done = [old for old in done if {**ADDED_LATER, **old["settings"]} != settings] + [run]
            temporary = record.with_suffix(".json.tmp")
            temporary.write_text(json.dumps({"command": " ".join(sys.argv), "runs": done}, indent=1))
            os.replace(temporary, record)  # a run never half-written, even when the sweep is stopped
            print("  " + ", ".join(f"{key} {run['scores'][key]:.2f}" for key, _ in METRICS)
                  + f"; {run['minutes']:.1f} min", flush=True)
    text = table(runs, args)
    args.out.write_text(text)
    print(text)
    return 0 if all(math.isfinite(run["scores"]["tm_psnr"]) for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
