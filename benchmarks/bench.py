"""Side-by-side timing of nnci and PyTorch (CPU) on the same work, with peak memory.

    python benchmarks/bench.py [--only NAME ...] [--repeat N] [--json out.json] [--no-memory]

Both libraries run in this one process with 2 threads each (BLAS for NumPy, intra-op for torch).
Time is the median of 2N runs: N after a warm-up, in blocks per library, alternating, twice.
ratio = torch time / nnci time (above 1: nnci is faster). Peak memory is the growth of the peak
resident set while one library runs the workload once (no warm-up), each library measured in a fresh
child process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nnci  # noqa: E402  (first, as in a user's program: it configures OpenBLAS before NumPy loads it)
from nnci import kernels  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

nnci.backend.keep_freed_memory()  # as the CLI and Trainer do; torch shares this process's malloc

torch.set_num_threads(2)

# One small parallel op starts torch's OpenMP pool properly. Measured (commit 936d9e5): until torch has run an op,
# its freshly configured threads hold the second core, and any other threaded work in this process ran 2x
# slower; after one op they sleep as they should.
torch.ones(256, 256) @ torch.ones(256, 256)


def blas_info() -> dict:
    """NumPy's BLAS as it runs in this process: library, version, the kernel chosen for this CPU, threads.

    OpenBLAS picks its kernel for the CPU at load time unless OPENBLAS_CORETYPE names one; an older
    kernel than the CPU supports (Haswell's AVX2 on an AVX-512 machine) runs GEMMs up to 1.9x slower,
    so the kernel is part of every result.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"library": "unknown (pip install threadpoolctl to record it)"}
    for pool in threadpool_info():
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", "") + pool.get("prefix", ""):
            return {"library": pool["internal_api"], "version": pool.get("version"),
                    "kernel": pool.get("architecture"), "threads": pool["num_threads"],
                    "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                    "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT")}
    return {"library": "not found"}


# ----- the same architectures in either library ---------------------------------------------
def dncnn(lib, depth=17, width=64, channels=1):
    layers = [lib.Conv2d(channels, width, 3, padding=1), lib.ReLU()]
    for _ in range(depth - 2):
        layers += [lib.Conv2d(width, width, 3, padding=1, bias=False), lib.BatchNorm2d(width), lib.ReLU()]
    layers.append(lib.Conv2d(width, channels, 3, padding=1))
    return lib.Sequential(*layers)


def double_conv(lib, cin, cout):
    return lib.Sequential(lib.Conv2d(cin, cout, 3, padding=1, bias=False), lib.BatchNorm2d(cout), lib.ReLU(),
                          lib.Conv2d(cout, cout, 3, padding=1, bias=False), lib.BatchNorm2d(cout), lib.ReLU())


def unet(lib, channels=4, widths=(32, 64, 128, 256)):
    """U-Net with len(widths) levels, transposed-conv upsampling and concatenated skips."""
    cat = nnci.cat if lib is nnci.nn else torch.cat

    class UNet(lib.Module):
        def __init__(self):
            super().__init__()
            self.down = lib.ModuleList([double_conv(lib, c, w) for c, w in zip((channels,) + widths[:-1], widths)])
            self.pool = lib.MaxPool2d(2)
            self.up = lib.ModuleList([lib.ConvTranspose2d(w, w // 2, 2, stride=2) for w in widths[:0:-1]])
            self.merge = lib.ModuleList([double_conv(lib, w, w // 2) for w in widths[:0:-1]])
            self.head = lib.Conv2d(widths[0], channels, 1)

        def forward(self, x):
            skips = []
            for i, block in enumerate(self.down):
                x = block(x)
                if i < len(self.down) - 1:
                    skips.append(x)
                    x = self.pool(x)
            for up, merge in zip(self.up, self.merge):
                x = merge(cat([skips.pop(), up(x)], 1))
            return self.head(x)

    return UNet()


def vgg(lib, config=(32, 32, "M", 64, 64, "M", 128, 128, "M"), classes=10):
    layers, cin = [], 3
    for item in config:
        if item == "M":
            layers.append(lib.MaxPool2d(2))
        else:
            layers += [lib.Conv2d(cin, item, 3, padding=1, bias=False), lib.BatchNorm2d(item), lib.ReLU()]
            cin = item
    layers += [lib.Flatten(), lib.Linear(cin * 4 * 4, 256), lib.ReLU(), lib.Linear(256, classes)]
    return lib.Sequential(*layers)


def small_cnn(lib):
    return lib.Sequential(lib.Conv2d(1, 16, 3, padding=1), lib.BatchNorm2d(16), lib.ReLU(), lib.MaxPool2d(2),
                          lib.Conv2d(16, 32, 3, padding=1), lib.BatchNorm2d(32), lib.ReLU(), lib.MaxPool2d(2),
                          lib.Flatten(), lib.Linear(32 * 7 * 7, 10))


# ----- workloads: each returns a zero-argument step for a library ------------------------------
LIBS = {"nnci": (nnci, nnci.nn, nnci.nn.functional, nnci.optim), "torch": (torch, torch.nn, torch.nn.functional, torch.optim)}


def train_step(lib_name, build, x_shape, target):
    base, nn, F, optim = LIBS[lib_name]
    model = build(nn)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = base.tensor(rng.standard_normal(x_shape).astype(np.float32))
    y = target(base, rng, model, x)

    def step():
        optimizer.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y) if y.dtype in (np.int64, torch.int64) else F.mse_loss(out, y)
        loss.backward()
        optimizer.step()
    return step


def same_shape_target(base, rng, model, x):
    return base.tensor(rng.standard_normal(tuple(x.shape)).astype(np.float32))


def class_target(base, rng, model, x):
    return base.tensor(rng.integers(0, 10, x.shape[0]))


def forward_backward(lib_name, build, x_shape):
    base, nn, F, _ = LIBS[lib_name]
    model = build(nn)
    x = base.tensor(np.random.default_rng(0).standard_normal(x_shape).astype(np.float32))

    def step():
        model.zero_grad()
        out = model(x)
        (out * out).mean().backward()
    return step


def inference(lib_name, build, x_shape):
    base, nn, F, _ = LIBS[lib_name]
    model = build(nn)
    model.eval()
    x = base.tensor(np.random.default_rng(0).standard_normal(x_shape).astype(np.float32))

    def step():
        with base.no_grad():
            model(x)
    return step


def micro(lib_name, fn, *shapes):
    """fn(F, *tensors) forward then backward of sum(out * upstream)."""
    base, nn, F, _ = LIBS[lib_name]
    rng = np.random.default_rng(0)
    tensors = [base.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    upstream = None

    def step():
        nonlocal upstream
        for t in tensors:
            t.grad = None
        out = fn(F, *tensors)
        if upstream is None:
            upstream = base.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))
        (out * upstream).sum().backward()
    return step


WORKLOADS = {
    "dncnn17_train_b16_40x40": lambda lib: train_step(lib, dncnn, (16, 1, 40, 40), same_shape_target),
    "unet4_fwd_bwd_1x4x128x128": lambda lib: forward_backward(lib, unet, (1, 4, 128, 128)),
    "vgg_train_b64_3x32x32": lambda lib: train_step(lib, vgg, (64, 3, 32, 32), class_target),
    "dncnn17_infer_256x256": lambda lib: inference(lib, dncnn, (1, 1, 256, 256)),
    "dncnn17_infer_512x512": lambda lib: inference(lib, dncnn, (1, 1, 512, 512)),
    "small_cnn_train_b64_28x28": lambda lib: train_step(lib, small_cnn, (64, 1, 28, 28), class_target),
    "conv3x3_s1_64to64_b16_40x40": lambda lib: micro(lib, lambda F, x, w: F.conv2d(x, w, padding=1),
                                                     (16, 64, 40, 40), (64, 64, 3, 3)),
    "conv3x3_s2_32to64_b16_64x64": lambda lib: micro(lib, lambda F, x, w: F.conv2d(x, w, stride=2, padding=1),
                                                     (16, 32, 64, 64), (64, 32, 3, 3)),
    "conv1x1_s1_64to32_b16_40x40": lambda lib: micro(lib, lambda F, x, w: F.conv2d(x, w), (16, 64, 40, 40),
                                                     (32, 64, 1, 1)),
    "conv1x1_s2_64to32_b16_40x40": lambda lib: micro(lib, lambda F, x, w: F.conv2d(x, w, stride=2),
                                                     (16, 64, 40, 40), (32, 64, 1, 1)),
    "conv_transpose2x2_s2_64to32_b8_32x32": lambda lib: micro(
        lib, lambda F, x, w: F.conv_transpose2d(x, w, stride=2), (8, 64, 32, 32), (64, 32, 2, 2)),
    "max_pool2d_2x2_b16_64x64x64": lambda lib: micro(lib, lambda F, x: F.max_pool2d(x, 2), (16, 64, 64, 64)),
    "batch_norm_train_b16_64x40x40": lambda lib: micro(
        lib, lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True), (16, 64, 40, 40), (64,), (64,)),
    "interpolate_bilinear_x2_b8_32x32x32": lambda lib: micro(
        lib, lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), (8, 32, 32, 32)),
    "interpolate_nearest_x2_b8_32x32x32": lambda lib: micro(
        lib, lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest"), (8, 32, 32, 32)),
}


SETTLE_S = 0.5  # pause before each block: the other library's idle worker threads stop spinning


def time_workload(name: str, repeat: int, rounds: int = 2) -> dict:
    """Median step time per library, timed in blocks of `repeat` steps, alternating libraries for `rounds`.

    Not step-by-step interleaving: after a call, OpenBLAS's and torch's worker threads keep spinning on
    the cores for a while, so a step that follows the other library's step loses a core to them
    (measured: torch's conv3x3 row took 92 ms interleaved against 28 ms in a block). Blocks separated
    by a pause give each library the machine a user of that library would see; alternating the blocks
    still spreads slow machine drift over both.
    """
    steps = {lib: WORKLOADS[name](lib) for lib in ("nnci", "torch")}
    if kernels.compiled:  # "before": the same nnci on its NumPy strategies only (NNCI_KERNELS=reference)
        steps["nnci_numpy"] = numpy_strategies(WORKLOADS[name]("nnci"))
    times: dict[str, list] = {lib: [] for lib in steps}
    for _ in range(rounds):
        for lib, step in steps.items():
            time.sleep(SETTLE_S)
            step()  # warm-up
            for _ in range(repeat):
                start = time.perf_counter()
                step()
                times[lib].append(time.perf_counter() - start)
    return {lib: statistics.median(t) for lib, t in times.items()}


def workload_flops(name: str) -> int:
    """Floating-point operations of one step (convolutions and matrix products, forward and backward), counted
    by torch's FlopCounterMode on the torch step: the same work nnci does."""
    from torch.utils.flop_counter import FlopCounterMode
    step = WORKLOADS[name]("torch")
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def gemm_peak_gflops(size: int = 2048, repeat: int = 5) -> float:
    """The machine's float32 GEMM rate through NumPy's BLAS (best of `repeat` square products)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeat))
    return 2 * size ** 3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def numpy_strategies(step):
    """step run with the compiled strategies switched off (convolutions on the NumPy grid path)."""
    def run():
        kernels.compiled = False
        try:
            step()
        finally:
            kernels.compiled = True
    return run


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_peak(name: str, lib: str) -> float:
    """Run the workload once here; return the peak RSS growth in MB over the RSS before the run.

    ru_maxrss is not used: Linux carries it across exec from the parent. VmHWM belongs to this
    address space, and writing 5 to clear_refs resets it to the current RSS.
    """
    step = WORKLOADS[name](lib)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    before = _status_kb("VmRSS")
    step()
    return (_status_kb("VmHWM") - before) / 1024


def peak_memory_mb(name: str, lib: str) -> float:
    """Peak RSS growth (MB) of one run of the workload, in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--measure-peak", name, lib], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def compare_table(before_path: str, after_path: str) -> str:
    """A markdown table: nnci's time and the ratio before and after, the after run's torch time and peak memory."""
    with open(before_path) as handle:
        before = {r["workload"]: r for r in json.load(handle)["results"]}
    with open(after_path) as handle:
        after = json.load(handle)
    blas = after["meta"].get("blas", {})
    kernels = "" if "kernel" not in blas else f" (NumPy's OpenBLAS kernel: {blas['kernel']})"
    lines = [f"numpy {after['meta']['numpy']}{kernels}, torch {after['meta']['torch']}, {after['meta']['threads']} "
             f"threads, median of {after['meta']['repeat']}, {after['meta']['date']}", "",
             "| workload | nnci s before | nnci s | torch s | ratio before | ratio now | nnci peak MB "
             "| torch peak MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    def cell(value, spec):
        return "-" if value is None else format(value, spec)

    for row in after["results"]:
        old = before.get(row["workload"], {})
        lines.append(f"| {row['workload']} | {cell(old.get('nnci_s'), '.4f')} | {row['nnci_s']:.4f} | "
                     f"{row['torch_s']:.4f} | {cell(old.get('ratio'), '.2f')} | "
                     f"**{row['ratio']:.2f}** | {cell(row.get('nnci_peak_mb'), '.0f')} | "
                     f"{cell(row.get('torch_peak_mb'), '.0f')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="workload names (substrings)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="print a markdown table of two saved --json runs and exit")
    parser.add_argument("--measure-peak", nargs=2, metavar=("WORKLOAD", "LIB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_peak:
        print(measure_peak(*args.measure_peak))
        return
    if args.compare:
        print(compare_table(*args.compare))
        return
    names = [n for n in WORKLOADS if not args.only or any(s in n for s in args.only)]
    blas = blas_info()
    print(f"NumPy BLAS: {blas.get('library')} {blas.get('version', '')}, kernel {blas.get('kernel', '?')}, "
          f"{blas.get('threads', '?')} threads, OPENBLAS_THREAD_TIMEOUT={blas.get('OPENBLAS_THREAD_TIMEOUT')}")
    if blas.get("OPENBLAS_CORETYPE"):
        print(f"note: OPENBLAS_CORETYPE={blas['OPENBLAS_CORETYPE']} pins OpenBLAS's kernel for this run; without it "
              "OpenBLAS picks the one for this CPU (benchmarks/README.md)")
    peak = gemm_peak_gflops()
    print(f"GEMM peak (2048^2 float32, NumPy BLAS, 2 threads): {peak:.0f} GFLOP/s; GF/s columns = the step's "
          "convolution and matmul FLOPs / time")
    results = []
    header = (f"{'workload':40s} {'numpy s':>9s} {'nnci s':>9s} {'torch s':>9s} {'before':>6s} {'ratio':>6s} "
              f"{'nnci GF/s':>9s} {'torch GF/s':>10s} {'nnci MB':>8s} {'torch MB':>8s}")
    print(f"kernels: {kernels.MODE} (compiled: {kernels.compiled}); 'numpy s' / 'before' = nnci on its NumPy "
          "strategies only, same run")
    print(header)
    print("-" * len(header))
    for name in names:
        t = time_workload(name, args.repeat)
        row = {"workload": name, "nnci_s": t["nnci"], "torch_s": t["torch"], "ratio": t["torch"] / t["nnci"]}
        if "nnci_numpy" in t:
            row["nnci_numpy_s"], row["ratio_numpy"] = t["nnci_numpy"], t["torch"] / t["nnci_numpy"]
        flops = workload_flops(name)
        row["gflop"] = flops / 1e9
        row["nnci_gflops"], row["torch_gflops"] = flops / 1e9 / t["nnci"], flops / 1e9 / t["torch"]
        if not args.no_memory:
            row["nnci_peak_mb"] = peak_memory_mb(name, "nnci")
            row["torch_peak_mb"] = peak_memory_mb(name, "torch")
        results.append(row)
        mem = (f"{row['nnci_peak_mb']:8.0f} {row['torch_peak_mb']:8.0f}" if not args.no_memory else "")
        before = (f"{row['nnci_numpy_s']:9.4f}", f"{row['ratio_numpy']:6.2f}") if "nnci_numpy_s" in row else (
            f"{'-':>9s}", f"{'-':>6s}")
        print(f"{name:40s} {before[0]} {row['nnci_s']:9.4f} {row['torch_s']:9.4f} {before[1]} {row['ratio']:6.2f} "
              f"{row['nnci_gflops']:9.0f} {row['torch_gflops']:10.0f} {mem}", flush=True)
    if args.json:
        meta = {"numpy": np.__version__, "torch": torch.__version__, "threads": 2, "repeat": args.repeat,
                "kernels": kernels.MODE, "compiled": kernels.compiled, "gemm_peak_gflops": peak,
                "cpu": os.uname().machine, "blas": blas, "date": time.strftime("%Y-%m-%d %H:%M")}
        with open(args.json, "w") as handle:
            json.dump({"meta": meta, "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
