"""The `nnci` command line."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence


def demo(args: argparse.Namespace) -> int:
    """Train a small convolutional classifier on the bundled digits; print progress and test accuracy."""
    from tqdm import tqdm

    import nnci
    import nnci.nn as nn
    import nnci.nn.functional as F
    from nnci.data import DataLoader, TensorDataset, load_digits, split_indices
    from nnci.backend import Generator

    nnci.manual_seed(args.seed)
    images, labels = load_digits()
    train, test = split_indices(len(labels), 0.2, seed=0)
    loader = DataLoader(TensorDataset(images[train], labels[train]), batch_size=64, shuffle=True, generator=Generator().manual_seed(args.seed))
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
    optimizer = nnci.optim.Adam(model.parameters(), lr=1e-2)
    schedule = nnci.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    print(f"nnci demo: a {model.num_parameters():,}-parameter CNN on {len(train)} digits, testing on {len(test)}")
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False, disable=args.quiet)
        for x, y in bar:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        schedule.step()
        model.eval()
        with nnci.no_grad():
            predicted = model(nnci.tensor(images[test])).argmax(1).numpy()
        accuracy = float((predicted == labels[test]).mean())
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}, test accuracy {accuracy:.2%}")
    print(f"test accuracy {accuracy:.2%} after {time.perf_counter() - start:.1f} s")
    return 0


def export(args: argparse.Namespace) -> int:
    """Write a task's trained model as ONNX, for an input of --shape (default: the shape it was trained on)."""
    from .onnx import ExportError, export as export_onnx
    from .tasks import TASKS
    from .tasks.common import UserError, load_model, weights_task

    task = weights_task(args.weights)
    if task not in TASKS:
        raise UserError(f"{args.weights}: not written by an nnci task (task {task!r} in its metadata)")
    model, config = load_model(args.weights, task, TASKS[task].build)
    if config.get("model") == "ffdnet":
        raise UserError(f"cannot export {args.weights}: FFDNet takes two inputs (the image and its noise level) and "
                        "nnci's ONNX export traces models of one input")
    shape = args.shape or trained_input_shape(config)
    if shape is None:
        raise UserError(f"{args.weights}: its config records no input shape; pass --shape N,C,H,W")
    from .backend import xp
    example = xp.random.default_rng(0).random(shape, dtype=xp.float32)
    try:
        export_onnx(model, example, args.onnx)
    except ExportError as error:
        raise UserError(f"cannot export {args.weights}: {error}") from None
    except ValueError as error:
        raise UserError(f"input shape {shape} does not fit the model: {error}") from None
    print(f"{task} model written as ONNX (opset 19, input 'input' of shape {shape}) to {args.onnx}")
    return 0


def trained_input_shape(config: dict) -> tuple | None:
    """(1, features) or (1, channels, size, size) as the task recorded it in the model's config."""
    if "input_features" in config:
        return (1, int(config["input_features"]))
    if "input_channels" in config and "input_size" in config:
        return (1, int(config["input_channels"]), int(config["input_size"]), int(config["input_size"]))
    return None


def _shape(text: str) -> tuple:
    """--shape: 2 to 5 positive integers, at most 2^26 values in all (an example input, not a dataset)."""
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if not 2 <= len(shape) <= 5 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected 2 to 5 positive comma-separated integers such as 1,1,64,64, got {text!r}")
    total = 1
    for size in shape:
        total *= size
    if total > 2 ** 26:
        raise argparse.ArgumentTypeError(f"{text} is {total:,} values; an example input may hold at most {2 ** 26:,}")
    return shape


def learn(args: argparse.Namespace) -> int:
    """Serve the course's interactive pages on 127.0.0.1 and open the browser on them."""
    from .learn import missing_extra
    from .tasks.options import UserError
    missing = missing_extra()
    if missing:
        raise UserError(missing)
    from .learn.app import bind, serve
    sock = bind(args.port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    print(f"nnci learn: the course is live at {url} (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        import threading
        import webbrowser
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        serve(sock, quiet=True)
    finally:
        sock.close()
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in [0, 65535] (0: any free port), got {text!r}")
    return port


def figures(args: argparse.Namespace) -> int:
    """Regenerate the guide's figures."""
    from .figures import write_all
    write_all(args.out, applications=not args.concepts_only)
    return 0


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: the command, the mistake and where the help is; exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _thread_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of threads, got {text!r}")
    return count


def build_parser() -> argparse.ArgumentParser:
    from .tasks import TASKS
    from .tasks.options import EPOCHS, SEED

    parser = ArgumentParser(prog="nnci", description="Neural networks for computational imaging.")
    parser.add_argument("--threads", type=_thread_count, default=None, metavar="N",
                        help="threads for BLAS and the compiled kernels (default: all cores; 1 when several "
                             "nnci commands share a machine)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo_parser = commands.add_parser("demo", help="train a small CNN on the bundled digits and report test accuracy")
    demo_parser.add_argument("--epochs", type=EPOCHS, default=8)
    demo_parser.add_argument("--seed", type=SEED, default=0)
    demo_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    demo_parser.set_defaults(run=demo)
    export_parser = commands.add_parser("export", help="write a trained model as ONNX (needs pip install 'nnci[onnx]')")
    export_parser.add_argument("--weights", required=True, type=Path, help="a model.safetensors written by train")
    export_parser.add_argument("--onnx", required=True, type=Path, help="the .onnx file to write")
    export_parser.add_argument("--shape", type=_shape, help="input shape N,C,H,W (default: one input of the shape it "
                               "was trained on)")
    export_parser.set_defaults(run=export)
    figures_parser = commands.add_parser("figures", help="regenerate every figure of the guide (docs/images)")
    figures_parser.add_argument("--out", type=Path, default=Path("docs/images"))
    figures_parser.add_argument("--concepts-only", action="store_true",
                                help="only the concept figures (seconds), not the applications' (minutes)")
    figures_parser.set_defaults(run=figures)
    learn_parser = commands.add_parser("learn", help="the course's interactive figures in the browser, computed live "
                                       "by nnci (needs pip install 'nnci[learn]')")
    learn_parser.add_argument("--port", type=_port, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free)")
    learn_parser.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    learn_parser.set_defaults(run=learn)
    for name, task in TASKS.items():
        task_parser = commands.add_parser(name, help=task.HELP, description=task.HELP)
        actions = task_parser.add_subparsers(dest="action", metavar="ACTION")
        task.add_arguments(actions)
        task_parser.set_defaults(usage=task_parser)
    return parser


def _write_error_report(argv: Sequence[str] | None) -> str:
    """The current exception's traceback and the command line, in a new file in the temporary directory."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="nnci-error-", suffix=".txt", delete=False) as handle:
        handle.write("nnci " + " ".join(sys.argv[1:] if argv is None else argv) + "\n\n")
        handle.write(traceback.format_exc())
    return handle.name


def main(argv: Sequence[str] | None = None) -> int:
    from . import distributed, interrupts
    parallel = distributed.launched_by_mpi()
    if parallel:
        _join_mpi_job()
    try:
        with interrupts.guarded():  # also while Numba compiles a kernel
            code = _main(argv)
    except KeyboardInterrupt:  # Ctrl-C anywhere, also while the tasks are still being imported
        print("nnci: interrupted", file=sys.stderr)
        code = 130
    if parallel and code not in (0, 130):  # the others may be waiting for this rank: end the job, not at a timeout
        sys.stderr.flush()
        sys.stdout.flush()
        distributed.abort(code, grace=0.0 if distributed.is_main() else 5.0)
    return code  # after Ctrl-C every rank stopped after the same step: rank 0 writes its checkpoint and all exit


def _join_mpi_job() -> None:
    """Under mpiexec: join the job; rank 0 alone prints, the others' errors name their rank."""
    from . import distributed
    try:
        distributed.init()
    except ImportError as error:
        print(f"nnci: error: started by an MPI launcher, but {error}", file=sys.stderr)
        raise SystemExit(1)
    if not distributed.is_main():
        import os
        sys.stdout = open(os.devnull, "w")
        sys.stderr = _Prefixed(sys.stderr, f"[rank {distributed.rank()}] ")


class _Prefixed:
    """A text stream that starts every line with a prefix."""

    def __init__(self, stream: Any, prefix: str) -> None:
        self.stream, self.prefix, self.at_line_start = stream, prefix, True

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.stream.write(self.prefix)
            self.stream.write(piece)
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        (getattr(args, "usage", None) or parser).print_help(sys.stderr)
        return 2
    from . import cores
    from .backend import keep_freed_memory, set_num_threads
    keep_freed_memory()
    entry = cores.register() if args.command != "learn" else None  # the course's server idles between requests
    if args.threads is not None:
        set_num_threads(args.threads)
    elif getattr(args, "action", None) != "train":
        _shared["threads"] = None
        _share_cores(cores)
        cores.resharer = lambda: _share_cores(cores)  # again between run's work items (cores.reshare)
    try:
        return _run(args, argv)
    finally:
        cores.resharer = None
        cores.unregister(entry)


_shared: dict = {"threads": None}  # the share this command took last; None before its first count


def _share_cores(cores: Any) -> None:
    """Without --threads, split the cores with the other nnci commands running on this machine (again whenever the
    count changes). Training keeps all of them: its results depend on the thread count (float sums in another
    order), and a resumed run must compute what the uninterrupted one did."""
    from . import distributed
    from .backend import set_num_threads
    running = len(cores.running_commands())
    threads = cores.fair_share(cores.usable_cores(), running)
    previous, _shared["threads"] = _shared["threads"], threads
    if threads == previous or (previous is None and running == 1):  # unchanged, or alone from the start: all cores
        return
    set_num_threads(threads)
    if distributed.is_main():
        others = f"{running - 1} other nnci command{'s' if running > 2 else ''}" if running > 1 else "no other nnci command"
        print(f"nnci: {others} running: {threads} thread{'s' if threads > 1 else ''} (--threads N to choose)",
              file=sys.stderr)


def _run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    from .io import ImageFileError
    from .serialization import WeightsFileError
    from .tasks.options import UserError
    from .train import TrainingDiverged, TrainingSetupError
    try:
        return args.run(args)
    except (UserError, WeightsFileError, ImageFileError, TrainingDiverged, TrainingSetupError) as error:
        print(f"nnci: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        raise
    except OSError as error:  # a path the user named: missing, unwritable, a folder for a file, ...
        print(f"nnci: error: {error}", file=sys.stderr)
        return 1
    except MemoryError:
        print("nnci: error: out of memory: choose smaller sizes (a smaller --batch, --tile or image)", file=sys.stderr)
        return 1
    except Exception as error:  # a bug, not a user mistake: one line here, the traceback in a file
        report = _write_error_report(argv)
        print(f"nnci: internal error: {type(error).__name__}: {error} (full report: {report})", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
