"""Joins the rows `impl, case, seconds, flop` of bench-table.sh into one side-by-side table (stdin → stdout).

GEMM cells: GFLOP/s and % of the fp32 peak given as the first argument (GFLOP/s); NS5 cells: seconds and GFLOP/s;
train cells (the 4th field holds tokens per step): ms per step and tokens/s.
"""
import sys

peak = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
impls, cases, cell = [], [], {}
for line in sys.stdin:
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 4:
        continue
    impl, case, sec, flop = parts[0], parts[1], float(parts[2]), float(parts[3])
    if impl == "peak":                               # BenchTable's FMA probe: not a cell, the script reads it
        continue
    if impl not in impls:
        impls.append(impl)
    if case not in cases:
        cases.append(case)
    gf = flop / sec / 1e9
    if case.startswith("train"):                     # the 4th field holds the tokens of one step, not FLOP
        cell[impl, case] = f"{1e3 * sec:6.0f} ms ({flop / sec:5.0f})"
    elif case.startswith("gemm"):
        cell[impl, case] = f"{gf:7.1f} ({100 * gf / peak:3.0f}%)" if peak > 0 else f"{gf:7.1f}"
    else:
        cell[impl, case] = f"{sec:7.2f} s ({gf:5.1f})"

w = 30
print(f"| {'case':{w}} | " + " | ".join(f"{i:>17}" for i in impls) + " |")
print(f"|{'-' * (w + 2)}|" + "|".join("-" * 19 for _ in impls) + "|")
for c in cases:
    print(f"| {c:{w}} | " + " | ".join(f"{cell.get((i, c), 'n/a'):>17}" for i in impls) + " |")
print()
print(f"gemm cells: GFLOP/s (% of the {peak:g} GFLOP/s fp32 peak); ns5 cells: seconds for 5 Newton-Schulz steps "
      "(GFLOP/s); train cells: median ms per training step of the tiny preset with Muon (tokens/s); "
      "n/a: not measured (numpy has no bf16 and no model).")
