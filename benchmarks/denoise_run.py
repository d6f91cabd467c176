"""Time `nnci.tasks.denoise.apply` (what `nnci denoise run` times) with the shipped blind FFDNet, per tile size.

    python benchmarks/denoise_run.py                 # 512x512 gray, tiles 256 / 512 / whole, 2 threads
    python benchmarks/denoise_run.py --size 3000x4000 --repeat 1
    python benchmarks/denoise_run.py --size 3000x4000 --color --tiles 512 --repeat 2   # 12 MP colour

Each tile size runs in a fresh child process, so its first call pays what a fresh `nnci denoise run` pays
(Numba loading its cached kernels); the later calls are the warm time. Peak memory is the child's VmHWM.
Run it on an idle machine.
"""
import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import nnci
from nnci.tasks import denoise
height, width, tile, repeat, threads, color = (int(v) for v in sys.argv[1:7])
nnci.set_num_threads(threads)
rng = np.random.default_rng(0)
shape = (height, width, 3) if color else (height, width)
image = np.clip(rng.random(shape, np.float32) * 0.6 + 0.2 + rng.normal(0, 25 / 255, shape), 0, 1)
model = denoise.load(None, None, color=bool(color))
seconds = []
for _ in range(repeat):
    start = time.perf_counter()
    denoise.apply(model, image.astype(np.float32), sigma=25, tile=tile or None)
    seconds.append(time.perf_counter() - start)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x512", help="HEIGHTxWIDTH of the image")
    parser.add_argument("--color", action="store_true", help="an RGB image and the shipped colour model")
    parser.add_argument("--tiles", default="256,512,0", help="tile sizes, 0 for the whole image")
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    for tile in (int(t) for t in args.tiles.split(",")):
        out = subprocess.run([sys.executable, "-c", CHILD, str(height), str(width), str(tile), str(args.repeat),
                              str(args.threads), str(int(args.color))], check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        first, warm = result["seconds"][0], sorted(result["seconds"][1:]) or [float("nan")]
        print(f"{args.size}{' RGB' if args.color else ''} tile {tile or 'whole':>5}: first call {first:.3f} s, warm median "
              f"{warm[len(warm) // 2]:.3f} s, peak {result['peak_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
