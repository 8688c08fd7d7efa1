#!/usr/bin/env bash
# One side-by-side benchmark table from one run: GEMM GFLOP/s (% of the fp32 peak) and Newton–Schulz 5 steps on
# 1024×4096 (fp32 and bf16) for the moonlight4j backends (cpu oracle, nd4j), numpy and PyTorch 1.13, all on the same
# thread count, one Muon training step of the tiny preset (scripts/bench_torch_tiny.py on the torch side), then
# `bench train --preset small --shape 64x128` on every backend (ms/step, tokens/s, MFU, forward/backward/optimizer).
# A measurement, not a test: on a shared machine the figures swing with the load (uptime is printed).
#
#   [SMALL_REPS=3] scripts/bench-table.sh [threads (default 2)] [fp32 peak GFLOP/s (default: measured)]
#   (the peak the percentages and MFU are of: the larger of the argument, or when none is given of an FMA probe run
#   in this table's first JVM on the same threads, and the best fp32 GEMM of the table; the probe is a lower bound)
#   (SMALL_REPS: timed steps per small-preset line, after one warm-up step)
#
# Needs: the project built by ./moonlight (writes verification/target/classpath.txt), python3 with numpy (pyenv),
# /usr/bin/python3 with torch (Debian python3-torch). numpy and torch run with the environment as it is.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads="${1:-2}"
peak_arg="${2:-}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-20}"   # as ./moonlight sets it (docs/performance.md)

./moonlight backends >/dev/null          # builds when sources changed, writes the class path
cp="$root/verification/target/classes:$(cat "$root/verification/target/classpath.txt")"
rows="$(mktemp)"
trap 'rm -f "$rows"' EXIT

# The JVM runs without OMP_NUM_THREADS, so nd4j keeps its own split (libnd4j ops on 1 OpenMP thread, OpenBLAS on
# OPENBLAS_NUM_THREADS = the thread count); the oracle takes -Dmoonlight.cpu.threads.
# ND4J's OpenBLAS 0.3.19 does not know Zen 4/5. The nd4j column runs with the OPENBLAS_CORETYPE that ./moonlight
# would use (the environment's, else SKYLAKEX on AVX-512); on AVX-512 machines a second nd4j column forces SKYLAKEX.
avx512=0
grep -q avx512f /proc/cpuinfo 2>/dev/null && avx512=1
core="${OPENBLAS_CORETYPE:-}"
[ -z "$core" ] && [ "$avx512" = 1 ] && core=SKYLAKEX
echo "bench-table: $threads threads, $(nproc) CPUs, load: $(uptime | sed 's/.*load average: //')" >&2
bench_java() {   # bench_java CORETYPE LABEL BACKEND...
  local ct="$1" label="$2"
  shift 2
  env -u OMP_NUM_THREADS ${ct:+OPENBLAS_CORETYPE="$ct"} java -Xmx8g --add-modules jdk.incubator.vector -Dmoonlight.cpu.threads="$threads" -cp "$cp" \
      moonlight4j.cli.BenchTable "$@" 2> >(grep -v -e DEBUG -e SLF4J >&2) | sed "s/^nd4j\t/$label\t/" >> "$rows"
}
bench_java "$core" "nd4j ${core:-default}" cpu nd4j
if [ "$avx512" = 1 ] && [ "$core" != SKYLAKEX ]; then
  bench_java SKYLAKEX "nd4j SKYLAKEX" nd4j
fi
if python3 -c 'import numpy' 2>/dev/null; then
  python3 "$root/scripts/bench_numpy.py" >> "$rows"
else
  echo "bench-table: python3 has no numpy, column skipped" >&2
fi
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$root/scripts/bench_torch.py" "$threads" >> "$rows"
else
  echo "bench-table: /usr/bin/python3 has no torch (apt-get install python3-torch), column skipped" >&2
fi
# One training step of the tiny preset (forward + backward + Muon step + bias update, 16x64 tokens) per backend and
# for the plain PyTorch model of scripts/bench_torch_tiny.py; rows `impl, train ..., seconds, tokens`.
train_row() {   # train_row BACKEND LABEL [CORETYPE]
  env -u OMP_NUM_THREADS ${3:+OPENBLAS_CORETYPE="$3"} MOONLIGHT_JAVA_OPTS="-Xmx8g -Dmoonlight.cpu.threads=$threads" \
      ./moonlight bench train --preset tiny --shape 16x64 --backend "$1" 2>/dev/null \
    | awk -v label="$2" '$2 == "muon" && $4 == "ms/step" { ms = $3; gsub(",", "", ms);
        printf "%s\ttrain tiny 16x64 muon\t%s\t%d\n", label, ms / 1000, 16 * 64 }' >> "$rows"
}
train_row cpu cpu
train_row nd4j "nd4j ${core:-default}" "$core"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$root/scripts/bench_torch_tiny.py" "$threads" 4x64 16x64 \
    | awk -F'\t' '$2 ~ /^train/ { split($2, a, " "); split(a[2], s, "x"); printf "torch\ttrain tiny %s muon\t%s\t%d\n", a[2], $3, s[1] * s[2] }' >> "$rows"
fi
echo "load after: $(uptime | sed 's/.*load average: //')" >&2
# One peak for the whole table: the GEMM percentages above and the small-preset lines below (each of which runs in
# its own JVM and would otherwise take its MFU against its own probe and GEMM rate) are of the same number.
best="$(awk -F'\t' '$2 ~ /^gemm .* F32$/ { g = $4 / $3 / 1e9; if (g > m) m = g } END { printf "%.1f", m }' "$rows")"
probe="$(awk -F'\t' '$1 == "peak" { g = $4 / $3 / 1e9; if (g > m) m = g } END { printf "%.1f", m }' "$rows")"
peak_src="${peak_arg:+peak argument $peak_arg}"
peak_src="${peak_src:-FMA probe $probe GFLOP/s on $threads threads}"
peak="$(awk -v a="$best" -v b="${peak_arg:-$probe}" 'BEGIN { printf "%.1f", (a > b ? a : b) }')"
python3 "$root/scripts/bench_table_format.py" "$peak" < "$rows"
echo "fp32 peak: $peak GFLOP/s, the larger of the $peak_src and the table's best fp32 GEMM, $best"
# Whole training steps at a real width: the small preset, 64×128 tokens per step, one line per backend and
# optimizer (ms/step, tokens/s, model GFLOP/s, MFU against the measured fp32 peak, the phase split). One JVM per
# backend: both in one JVM outgrew 24 GiB (nd4j's off-heap arrays wait for the garbage collector).
echo
for be in cpu nd4j; do
  env -u OMP_NUM_THREADS ${core:+OPENBLAS_CORETYPE="$core"} MOONLIGHT_JAVA_OPTS="-Xmx8g -Dmoonlight.cpu.threads=$threads" \
      ./moonlight bench train --preset small --shape 64x128 --warmup 1 --reps "${SMALL_REPS:-3}" --peak "$peak" \
        --backend "$be" 2>/dev/null \
    | grep -E '^(bench train|fp32 peak|[a-z0-9]+ +(muon|adamw) )'
done
echo "load after: $(uptime | sed 's/.*load average: //')" >&2
