"""Validation PSNR against training minutes of the shipped denoisers' runs, as a picture.

    python benchmarks/training_curves.py --add "gray FFDNet, first run=runs/ffdnet-gray" \
        --add "gray FFDNet, warm restart=runs/ffdnet-gray-2"     # copy the runs' per-epoch numbers
    python benchmarks/training_curves.py                          # draw docs/images/benchmarks/denoise_training_curves.png

The per-epoch numbers (epoch, step, minutes, learning rate, validation PSNR) are copied from each run's
history.json into benchmarks/denoise-training-curves.json, so the picture can be redrawn without the runs.
A run that continues another (--init) starts where that one ended, on the minutes axis.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's nnci, run from anywhere

CURVES = ROOT / "benchmarks" / "denoise-training-curves.json"
PICTURE = ROOT / "docs" / "images" / "benchmarks" / "denoise_training_curves.png"


def copy_run(label: str, run: Path) -> dict:
    """The per-epoch numbers of one run directory and the settings that name its validation set."""
    history = json.loads((run / "history.json").read_text())
    settings = json.loads((run / "settings.json").read_text())["settings"]
    epochs = [{"epoch": e["epoch"], "step": e["step"], "minutes": round(e["seconds"] / 60, 2),
               "lr": e["lr"], "val": {k: round(v, 3) for k, v in e["val"].items()}} for e in history["epochs"]]
    return {"label": label, "run": run.name, "color": settings.get("color", False), "seed": settings["seed"],
            "init": settings.get("init"), "epochs": epochs}


def starts(curves: list) -> dict:
    """Minutes at which each run began: 0, or the end of the run it continues (--init of that run's weights)."""
    by_run = {curve["run"]: curve for curve in curves}
    found: dict = {}

    def start(curve: dict) -> float:
        if curve["run"] not in found:
            parent = by_run.get(Path(curve["init"]).parent.name) if curve["init"] else None
            found[curve["run"]] = 0.0 if parent is None else start(parent) + parent["epochs"][-1]["minutes"]
        return found[curve["run"]]
    for curve in curves:
        start(curve)
    return found


def draw(curves: list, path: Path, key: str = "psnr_sigma25") -> Path:
    """Validation PSNR (`key` of each epoch's validation) against training minutes, one line per run."""
    from nnci.plotting import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    began = starts(curves)
    for curve in curves:
        minutes = [began[curve["run"]] + e["minutes"] for e in curve["epochs"]]
        ax.plot(minutes, [e["val"][key] for e in curve["epochs"]], marker="o", markersize=3,
                label=f"{curve['label']} (its validation crops, seed {curve['seed']})")
    ax.set_xlabel("training minutes (one thread, 2-core machine)")
    ax.set_ylabel(f"validation PSNR, {key.replace('psnr_sigma', 'sigma ')} (dB)")
    ax.set_title("Blind FFDNets: validation PSNR on crops of the training photos", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", action="append", default=[], metavar="LABEL=RUN_DIR",
                        help="copy a run's per-epoch numbers into the JSON (replacing one of the same label)")
    parser.add_argument("--out", type=Path, default=PICTURE)
    args = parser.parse_args()
    curves = json.loads(CURVES.read_text()) if CURVES.exists() else []
    for item in args.add:
        label, _, run = item.rpartition("=")
        curves = [c for c in curves if c["label"] != label] + [copy_run(label, Path(run))]
    if args.add:
        CURVES.write_text(json.dumps(curves, indent=1) + "\n")
    print(f"wrote {draw(curves, args.out)}")


if __name__ == "__main__":
    main()
