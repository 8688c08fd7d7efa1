"""PyTorch side of scripts/bench-table.sh (Debian python3-torch 1.13, run with /usr/bin/python3).

GEMM in fp32 and bf16 and the release's Newton-Schulz (zeropower_via_newtonschulz5, MoonshotAI/Moonlight
examples/toy_train.py, SPEC 1.1) in bf16 as released and in fp32. Thread count from the first argument
(default 2), set with torch.set_num_threads. Prints tab-separated rows `torch, case, seconds, flop`.
"""
import sys

import bench_timing

import torch


def timed(name, flop, fn):
    bench_timing.timed("torch", name, flop, fn)


def zeropower_via_newtonschulz5(G, steps, dtype=torch.bfloat16):
    """The release's function; dtype=torch.float32 gives the fp32 ("ns_float") variant."""
    assert len(G.shape) == 2
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.to(dtype)
    if G.size(0) > G.size(1):
        X = X.T
    X = X / (X.norm() + 1e-7)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(0) > G.size(1):
        X = X.T
    return X


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    with torch.no_grad():
        for m, k, n in [(1024, 1024, 1024), (2048, 2048, 2048), (1024, 4096, 1024)]:
            a, b = torch.randn(m, k), torch.randn(k, n)
            timed(f"gemm {m}x{k}x{n} F32", 2.0 * m * k * n, lambda: a @ b)
        a, b = torch.randn(1024, 1024).bfloat16(), torch.randn(1024, 1024).bfloat16()
        timed("gemm 1024x1024x1024 BF16", 2.0 * 1024 ** 3, lambda: a @ b)
        g = torch.randn(1024, 4096)
        mm, nn = 1024.0, 4096.0
        flop = 5 * (4 * mm * mm * nn + 2 * mm ** 3)
        timed("ns5 1024x4096 F32", flop, lambda: zeropower_via_newtonschulz5(g, 5, torch.float32))
        timed("ns5 1024x4096 BF16", flop, lambda: zeropower_via_newtonschulz5(g, 5))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)


if __name__ == "__main__":
    main()
