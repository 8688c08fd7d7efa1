"""Joins the rows `impl, case, median seconds, tokens/s, optimizer share, min seconds` of bench-vs-torch.sh into one table (stdin → stdout).

One line per (case, impl): tokens/s (from the median), median and min ms per forward/step, the optimizer's share of a training step, and the ratio of
tokens/s to torch's for the same case (> 1: faster than torch; n/a where torch has no such case).
"""
import sys

rows = []
for line in sys.stdin:
    p = line.rstrip("\n").split("\t")
    if len(p) != 6:
        continue
    rows.append((p[0], p[1], float(p[2]), float(p[3]), float(p[4]) if p[4] else None, float(p[5])))
torch = {case: tps for impl, case, _, tps, _, _ in rows if impl == "torch"}
cases = []
for _, case, _, _, _, _ in rows:
    if case not in cases:
        cases.append(case)
print(f"| {'case':22} | {'impl':6} | {'tokens/s':>9} | {'ms':>8} | {'min ms':>8} | {'optimizer':>9} | {'vs torch':>8} |")
print(f"|{'-' * 24}|{'-' * 8}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 10}|")
for c in cases:
    for impl, case, sec, tps, share, lo in rows:
        if case != c:
            continue
        ratio = f"{tps / torch[c]:.2f}x" if c in torch else "n/a"
        sh = f"{100 * share:.1f}%" if share is not None else ""
        print(f"| {case:22} | {impl:6} | {tps:9.0f} | {1e3 * sec:8.1f} | {1e3 * lo:8.1f} | {sh:>9} | {ratio:>8} |")
print()
print("ms, min ms: median and fastest batch forward / training step; optimizer: median share of a training step in the optimizer "
      "update; vs torch: tokens/s over PyTorch's for the same case.")
