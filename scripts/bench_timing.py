"""The timing rule shared by scripts/bench_numpy.py and scripts/bench_torch.py (they run under different Pythons:
pyenv's with numpy, Debian's with torch). Median of up to 5 runs after a warm-up; one slow run (> 8 s) is enough."""
import sys
import time


def timed(impl, name, flop, fn):
    """Prints the tab-separated row `impl, case, seconds, flop` (stdout) and a readable line (stderr)."""
    fn()                                   # warm-up
    ts = []
    while len(ts) < 5:
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if ts[0] > 8:
            break
    ts.sort()
    med = ts[len(ts) // 2]
    print(f"{impl}\t{name}\t{med:.6f}\t{flop:.6e}", flush=True)
    print(f"  {impl:5s}  {name:28s} {med:8.3f} s  {flop / med / 1e9:7.1f} GFLOP/s  ({len(ts)} runs)", file=sys.stderr)
