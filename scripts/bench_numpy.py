"""numpy side of scripts/bench-table.sh: GEMM and fp32 Newton-Schulz (numpy has no bf16).

Prints tab-separated rows `numpy, case, seconds, flop` like moonlight4j.cli.BenchTable. Thread count: set
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting (bench-table.sh does). Median of up to 5 runs after a warm-up.
"""
import sys

import bench_timing

import numpy as np


def timed(name, flop, fn):
    bench_timing.timed("numpy", name, flop, fn)


def ns5(g):
    """The release's zeropower_via_newtonschulz5 (SPEC 1.1) in fp32."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.astype(np.float32)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    x = x / (np.linalg.norm(x) + np.float32(1e-7))
    for _ in range(5):
        A = x @ x.T
        B = b * A + (c * A) @ A
        x = a * x + B @ x
    return x.T if tall else x


def main():
    rng = np.random.default_rng(1)
    for m, k, n in [(1024, 1024, 1024), (2048, 2048, 2048), (1024, 4096, 1024)]:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        timed(f"gemm {m}x{k}x{n} F32", 2.0 * m * k * n, lambda: a @ b)
    g = rng.standard_normal((1024, 4096), dtype=np.float32)
    mm, nn = 1024.0, 4096.0
    timed("ns5 1024x4096 F32", 5 * (4 * mm * mm * nn + 2 * mm ** 3), lambda: ns5(g))
    print(f"numpy {np.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
