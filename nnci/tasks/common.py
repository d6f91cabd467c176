"""The contract every task follows, in Python and on the command line.

train(config, out, **options) (and `nnci TASK train --out DIR --option ...`) writes DIR/model.safetensors
(weights + the config that rebuilds the model, in its metadata), DIR/config.json, DIR/settings.json,
DIR/history.json and DIR/loss.png; evaluate(model, out=...) returns what `eval --json` prints,
{"model": {...}, "baselines": {name: {...}}, ...}; apply(model, inputs) works on arrays, and
`run INPUT... -o OUT` on files.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..serialization import WeightsFileError, load_safetensors, safetensors_metadata, save_safetensors
from ..nn.module import Module
from ..train import CHECKPOINT, Trainer, write_json
from .options import BUDGET, UserError, add_options, flag_of, from_json, given_options, resolve, to_json

WEIGHTS = "model.safetensors"


def add_eval_arguments(parser: argparse.ArgumentParser, shipped: str | None = None) -> None:
    """--weights (optional when the package ships a default, described by `shipped`), --json, --out."""
    if shipped:
        parser.add_argument("--weights", type=Path, help=f"a model.safetensors written by train (default: {shipped})")
    else:
        parser.add_argument("--weights", required=True, type=Path, help="a model.safetensors written by train")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", type=Path, help="directory for the pictures (default: the working directory)")


def add_train_command(actions: argparse._SubParsersAction, module: Any, help: str) -> argparse.ArgumentParser:
    """`train --out DIR [--resume] [--force] [--quiet]` plus one option per field of module.Config; it calls
    module.train with the options the user gave."""
    parser = actions.add_parser("train", help=help, description=help)
    parser.add_argument("--out", required=True, type=Path, help="directory for model, config, history and plots")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in --out with its own settings")
    parser.add_argument("--force", action="store_true", help="start over, replacing a model or an interrupted run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_options(parser, module.Config)

    def train_command(args: argparse.Namespace) -> int:
        module.train(out=args.out, resume=args.resume, force=args.force, progress=not args.quiet,
                     **given_options(args, module.Config))
        return 0
    parser.set_defaults(run=train_command)
    return parser


SETTINGS = "settings.json"


def open_run(task: str, kind: type, config: Any, overrides: dict, out: Path | None, resume: bool,
             force: bool) -> Any:
    """The checked settings of a training run, and its directory made ready by rank 0 of a data-parallel run,
    which sends the settings to the other ranks (they never touch the directory)."""
    from .. import distributed
    if not distributed.is_parallel():
        return _open_run(task, kind, config, overrides, out, resume, force)
    settings = _open_run(task, kind, config, overrides, out, resume, force) if distributed.is_main() else None
    values = distributed.broadcast_object(to_json(settings) if distributed.is_main() else None)
    return settings if distributed.is_main() else from_json(kind, values, "the settings sent by rank 0")


def output_of_this_rank(out: str | Path | None) -> Path | None:
    """Where this process writes a run's files: `out` on rank 0 (or alone), None on the other ranks."""
    from .. import distributed
    return Path(out) if out is not None and distributed.is_main() else None


def _open_run(task: str, kind: type, config: Any, overrides: dict, out: Path | None, resume: bool,
              force: bool) -> Any:
    """The checked settings of a training run, and its directory made ready.

    A new run writes its settings to out/settings.json before training. resume=True takes the settings from
    there (an option that would compute something else is refused, naming both values; the budget may
    change). A directory holding a model or an interrupted run is never replaced without force=True."""
    if resume and force:
        raise UserError("--resume continues the run in --out and --force replaces it: choose one")
    if out is None:
        if resume:
            raise UserError("--resume needs the directory of the run (--out)")
        return resolve(kind, config, overrides)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".nnci-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write to output directory {out}: {error.strerror or error}") from None
    checkpoint, saved_path = out / CHECKPOINT, out / SETTINGS
    if resume:
        if not checkpoint.exists():
            raise UserError(f"--resume: {out} holds no run to continue (no {CHECKPOINT})")
        saved = _read_settings(saved_path, task, kind)
        asked = resolve(kind, config, overrides)
        named = set(overrides) | ({item.name for item in dataclasses.fields(kind)} if config is not None else set())
        for item in dataclasses.fields(kind):
            if item.name in named and item.name not in BUDGET and getattr(asked, item.name) != getattr(saved, item.name):
                raise UserError(f"{_spelled(item, getattr(asked, item.name))} conflicts with the run being resumed in "
                                f"{out}, which has {_spelled(item, getattr(saved, item.name), bare=True)}; drop the "
                                "option, or use --force to start over")
        return dataclasses.replace(saved, **{name: getattr(asked, name) for name in BUDGET if name in named})
    if not force:
        if (out / WEIGHTS).exists():
            raise UserError(f"{out / WEIGHTS} already exists; use --force to overwrite it or --resume to continue")
        if checkpoint.exists():
            raise UserError(f"{out} holds an interrupted run ({CHECKPOINT}); use --resume to continue it or --force "
                            "to start over")
    config = resolve(kind, config, overrides)
    for name in (CHECKPOINT, WEIGHTS):
        (out / name).unlink(missing_ok=True)
    write_json(saved_path, {"task": task, "settings": to_json(config)})
    return config


def _spelled(item: dataclasses.Field, value: Any, bare: bool = False) -> str:
    """An option as the command line spells it: `--lr 0.01`, `--no-residual`, `no --no-residual`."""
    flag = flag_of(item)
    if isinstance(item.default, bool):
        return flag if value != item.default else f"no {flag}"
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return shown if bare else f"{flag} {shown}"


def _read_settings(path: Path, task: str, kind: type) -> Any:
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--resume: {path.parent} has a checkpoint but no {SETTINGS}, so its settings are unknown; "
                        "use --force to start over") from None
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: unreadable ({error})") from None
    if not isinstance(saved, dict) or saved.get("task") != task or not isinstance(saved.get("settings"), dict):
        raise UserError(f"{path}: not the settings of an 'nnci {task} train' run")
    return from_json(kind, saved["settings"], str(path))


def fit(config: Any, out: Path | None, task: str, model_config: dict, model: Module, optimizer: Any,
        loss_fn: Callable, loader: Any, *, resume: bool = False, progress: bool = True, title: str,
        evaluate: Callable | None = None, scheduler: Any = None, warmup_steps: int = 0) -> Trainer:
    """Run the shared Trainer with the config's budget, then write the model and its config into `out`
    (nothing is written when out is None); the model carries model_config as `task_config`."""
    trainer = Trainer(model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler, out_dir=out,
                      epochs=config.epochs, minutes=config.minutes, checkpoint_every=config.checkpoint_every,
                      warmup_steps=warmup_steps, progress=progress, title=title)
    trainer.fit(resume=resume)
    model.eval()
    model.task_config = model_config
    if out is not None:
        save_model(model, task, model_config, Path(out))
        print(f"model written to {Path(out) / WEIGHTS}")
    return trainer


def check_memory(count: int, what: str, advice: str) -> None:
    """Refuse, in one line, an array of `count` float32 values that would take more than half of this
    machine's memory (before it is allocated, so the machine never swaps to death on a typo)."""
    needed = 4 * count
    try:
        limit = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # no sysconf: assume 8 GiB
        limit = 4 * 2 ** 30
    if needed > limit:
        raise UserError(f"{what} would take {needed / 2 ** 30:.1f} GiB, more than half of this machine's memory "
                        f"({limit / 2 ** 30:.1f} GiB); {advice}")


# ----- run: INPUT... -o OUT ------------------------------------------------------------------------
def add_run_command(actions: argparse._SubParsersAction, help: str, output: str,
                    shipped: bool = True) -> argparse.ArgumentParser:
    """`run INPUT... -o OUT [--weights W] [--force]`: inputs are images or folders of images; `output`
    says what is written for each; --weights is required when the task ships no weights."""
    parser = actions.add_parser("run", help=help, description=help)
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                        help="image files, or folders whose images are all processed")
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="OUT",
                        help=f"{output}: a file for one input (format from its extension), else a folder")
    parser.add_argument("--weights", type=Path, required=not shipped,
                        help="a model.safetensors written by train" + (" (default: shipped)" if shipped else ""))
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def input_images(inputs: list, extra_suffixes: tuple = (), described: str = "images") -> list[Path]:
    """The files named, with each folder replaced by the images (and files with extra_suffixes) in it, sorted;
    one-line errors (`described` names what a folder should hold)."""
    from ..io import IMAGE_SUFFIXES
    suffixes = IMAGE_SUFFIXES + tuple(extra_suffixes)
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                raise UserError(f"{item}: no {described} ({', '.join(suffixes)}) in this folder")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
    return files


def output_paths(sources: list[Path], out: Path, suffix: str, force: bool, extension: str = ".png") -> list[Path]:
    """Where each source's result goes: `out` itself for one source when it has an image extension,
    else out/<stem><suffix><extension> in the folder `out` (created). Existing files need force."""
    from ..io import IMAGE_SUFFIXES
    out = Path(out)
    if len(sources) == 1 and out.suffix and not out.is_dir():
        targets = [image_file(out, "(or name a folder)")]
    else:
        if out.exists() and not out.is_dir():
            raise UserError(f"-o {out}: a file, but {len(sources)} inputs need a folder")
        if out.suffix.lower() in IMAGE_SUFFIXES and not out.exists():
            raise UserError(f"-o {out}: names an image file, but {len(sources)} inputs need a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"-o {out}: cannot create the folder ({error.strerror or error})") from None
        targets = [out / f"{source.stem}{suffix}{extension}" for source in sources]
        seen: dict[Path, Path] = {}
        for source, target in zip(sources, targets):
            if target in seen:
                raise UserError(f"{seen[target]} and {source} would both be written to {target}")
            seen[target] = source
    return refuse_existing(targets, force)


def image_file(out: Path, alternative: str) -> Path:
    """-o naming one image file: a known image extension, in a folder that exists (`alternative` says what
    else -o may name)."""
    from ..io import IMAGE_SUFFIXES
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise UserError(f"-o {out}: unknown image format {out.suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)} "
                        f"{alternative}")
    if not out.parent.is_dir():
        raise UserError(f"-o {out}: the folder {out.parent} does not exist")
    return out


def refuse_existing(targets: list[Path], force: bool) -> list[Path]:
    """The targets, unless some exist and force is not given."""
    existing = [target for target in targets if target.exists()]
    if existing and not force:
        raise UserError(f"{existing[0]} already exists{f' (and {len(existing) - 1} more)' if len(existing) > 1 else ''}; "
                        "use --force to overwrite")
    return targets


RESULT_SUFFIXES = (".json", ".csv")


def results_file(out: Path, force: bool) -> Path:
    """run's results file: a .json or .csv whose folder exists; an existing one needs force."""
    out = Path(out)
    if out.suffix.lower() not in RESULT_SUFFIXES:
        raise UserError(f"-o {out}: write the results as .json or .csv (one row per input), not {out.suffix or 'a folder'!r}")
    if out.is_dir():
        raise UserError(f"-o {out}: a folder; name a .json or .csv file")
    if not out.parent.is_dir():
        raise UserError(f"-o {out}: the folder {out.parent} does not exist")
    if out.exists() and not force:
        raise UserError(f"{out} already exists; use --force to overwrite")
    return out


def write_results(path: Path, rows: list[dict], header: list[str], cells: Callable[[dict], list]) -> None:
    """rows as a JSON list of objects (.json), or as a CSV table with `header` and cells(row) per line (.csv);
    the file is replaced atomically."""
    import csv
    import io
    from ..io import atomic_write
    if path.suffix.lower() == ".json":
        text = json.dumps(rows, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells(row) for row in rows)
        text = buffer.getvalue()
    try:
        atomic_write(path, lambda handle: handle.write(text.encode()))
    except OSError as error:
        raise UserError(f"-o {path}: cannot write ({error.strerror or error})") from None


def share_of_work(items: list, quiet: bool, what: str) -> Any:
    """This process's share of run's work items (every item alone; every N-th from its rank under mpiexec -n N,
    so that each output is written once), with a progress bar; before each item the command re-counts the nnci
    commands running beside it and takes its share of the cores (cores.reshare)."""
    from .. import cores, distributed
    distributed.barrier()  # every rank has checked the outputs before any rank writes one
    for item in progress(distributed.shard(items), quiet, what):
        cores.reshare()
        yield item


def progress(items: list, quiet: bool, what: str) -> Any:
    """A progress bar over items when there are several and the user did not ask for quiet."""
    from tqdm import tqdm
    return tqdm(items, desc=what, disable=quiet or len(items) < 2, leave=False, dynamic_ncols=True)


def shipped_weights(filename: str) -> Path:
    """A pretrained model inside the package (nnci/weights/)."""
    from importlib import resources
    return Path(str(resources.files("nnci").joinpath("weights", filename)))


def weights_or_shipped(weights: Path | None, filename: str) -> Path:
    """The user's weights, or the shipped ones when none were given."""
    if weights is not None:
        return Path(weights)
    path = shipped_weights(filename)
    if not path.exists():
        raise UserError(f"the shipped weights {filename} are missing from this installation; pass --weights")
    return path


def save_model(model: Module, task: str, config: dict, out: Path) -> None:
    """Weights with the task and config in the metadata, plus config.json beside them."""
    save_safetensors(model.state_dict(), out / WEIGHTS, metadata={"nnci_task": task, "nnci_config": json.dumps(config)})
    write_json(out / "config.json", {"task": task, **config})


def _read_weights(path: Path, read: Callable[[Path], Any]) -> Any:
    """read(path), with a missing, unreadable or foreign file reported as one line naming it."""
    try:
        return read(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such weights file") from None
    except (WeightsFileError, OSError) as error:
        raise UserError(str(error)) from None


def weights_task(path: Path) -> str | None:
    """The task a weights file was trained by, from its metadata (None when it names none)."""
    return _read_weights(Path(path), safetensors_metadata).get("nnci_task")


def load_model(path: Path, task: str, build: Callable[[dict], Module]) -> tuple[Module, dict]:
    """Rebuild the model a weights file was trained as, and load it; errors name the file and what is wrong."""
    path = Path(path)
    metadata = _read_weights(path, safetensors_metadata)
    tensors = _read_weights(path, load_safetensors)
    found = metadata.get("nnci_task")
    if found is None:
        raise UserError(f"{path}: not written by 'nnci {task} train' (no task in its metadata)")
    if found != task:
        raise UserError(f"{path}: weights of task '{found}', not '{task}'")
    config = json.loads(metadata["nnci_config"])
    model = build(config)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        raise UserError(f"{path}: {error}") from None
    model.eval()
    model.task_config = config
    return model, config


def load_trained(weights: str | Path | None, task: str, build: Callable[[dict], Module], what: str) -> Module:
    """The model of a model.safetensors written by `nnci TASK train`, for a task that ships no weights
    (`what` names its model in the error when none is given)."""
    if weights is None:
        raise UserError(f"nnci ships no {what}; pass the model.safetensors written by 'nnci {task} train' "
                        f"(or train one with {task}.train)")
    return load_model(Path(weights), task, build)[0]


def report(result: dict, as_json: bool, title: str) -> None:
    """Print {"model": {...}, "baselines": {...}} as JSON or as a readable table."""
    if as_json:
        print(json.dumps(result))
        return
    rows = [("nnci model", result["model"])] + list(result.get("baselines", {}).items())
    metrics = sorted({k for _, values in rows for k in values})
    width = max(len(name) for name, _ in rows) + 2
    cell = {m: max(12, len(m) + 2) for m in metrics}
    print(title)
    print(" " * width + "".join(f"{m:>{cell[m]}s}" for m in metrics))
    for name, values in rows:
        cells = "".join(f"{values[m]:{cell[m]}.4f}" if isinstance(values.get(m), (int, float)) else f"{'-':>{cell[m]}s}"
                        for m in metrics)
        print(f"{name:<{width}s}{cells}")
    for key, value in result.items():
        if key in ("model", "baselines"):
            continue
        if isinstance(value, dict):
            print(f"{key}:")
            for inner, entry in value.items():
                print(f"  {inner}: {json.dumps(entry)}")
        else:
            print(f"{key}: {value}")


def picture_dir(out: Path | None) -> Path:
    """Where eval writes its pictures: the folder the user named, else the working directory (never the
    installed package, where the shipped weights live)."""
    out = Path(out) if out is not None else Path(".")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {out}: cannot create the folder ({error.strerror or error})") from None
    return out
