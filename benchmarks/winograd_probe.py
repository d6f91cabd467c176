"""Does Winograd F(2x2, 3x3) pay off in NumPy? Times its three stages on one DnCNN layer.

    python benchmarks/winograd_probe.py

Winograd needs 2.25x fewer multiplications than direct convolution, but its input and output
transforms are elementwise passes over arrays 4x the size of the activations; in NumPy each
pass is a separate trip through memory. Prints the stage times next to nnci's conv2d and torch's.
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nnci  # noqa: E402
import nnci.nn.functional as F  # noqa: E402

torch.set_num_threads(2)


def timed(fn, repeat: int = 7) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def main() -> None:
    n, c, o, h, w = 16, 64, 64, 40, 40
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    weight = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
    th, tw = h // 2, w // 2
    padded = np.zeros((c, n, h + 2, w + 2), np.float32)
    padded[:, :, 1:-1, 1:-1] = x.transpose(1, 0, 2, 3)
    g_matrix = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)
    u = np.einsum("ai,ocij,bj->aboc", g_matrix, weight, g_matrix).reshape(16, o, c)  # G w G^T per channel pair

    def input_transform():  # V = B^T d B for every 4x4 tile, rows then columns
        rows = [padded[:, :, r:r + 2 * th:2, :] for r in range(4)]
        t = [rows[0] - rows[2], rows[1] + rows[2], rows[2] - rows[1], rows[1] - rows[3]]
        v = np.empty((16, c, n, th, tw), np.float32)
        for a in range(4):
            cols = [t[a][..., s:s + 2 * tw:2] for s in range(4)]
            np.subtract(cols[0], cols[2], out=v[4 * a])
            np.add(cols[1], cols[2], out=v[4 * a + 1])
            np.subtract(cols[2], cols[1], out=v[4 * a + 2])
            np.subtract(cols[1], cols[3], out=v[4 * a + 3])
        return v.reshape(16, c, -1)

    v = input_transform()
    m = np.matmul(u, v)

    def output_transform():  # y = A^T m A
        mm = m.reshape(4, 4, o, n, th, tw)
        p0, p1 = mm[0] + mm[1] + mm[2], mm[1] - mm[2] - mm[3]
        y = np.empty((n, o, h, w), np.float32)
        view = y.transpose(1, 0, 2, 3)
        for r, p in ((0, p0), (1, p1)):
            np.add(p[0] + p[1], p[2], out=view[:, :, r::2, 0::2])
            np.subtract(p[1] - p[2], p[3], out=view[:, :, r::2, 1::2])
        return y

    reference = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), padding=1).numpy()
    error = float(np.abs(output_transform() - reference).max() / np.abs(reference).max())
    t_in, t_gemm, t_out = timed(input_transform), timed(lambda: np.matmul(u, v)), timed(output_transform)
    xt, wt = torch.tensor(x), torch.tensor(weight)
    xn, wn = nnci.tensor(x), nnci.tensor(weight)
    with nnci.no_grad():
        t_nnci = timed(lambda: F.conv2d(xn, wn, padding=1))
    t_torch = timed(lambda: torch.nn.functional.conv2d(xt, wt, padding=1))
    print(f"3x3 conv forward, {n}x{c}x{h}x{w} -> {o} channels, 2 threads")
    print(f"winograd F(2x2,3x3): input transform {t_in:.1f} ms + GEMMs {t_gemm:.1f} ms + output transform "
          f"{t_out:.1f} ms = {t_in + t_gemm + t_out:.1f} ms (max relative error {error:.1e})")
    print(f"nnci conv2d (grid GEMM): {t_nnci:.1f} ms;  torch conv2d: {t_torch:.1f} ms")


if __name__ == "__main__":
    main()
