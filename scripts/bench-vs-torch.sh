#!/usr/bin/env bash
# The tiny preset side by side with PyTorch 1.13: a batch forward (tokens/s) and one training step (forward +
# backward + Muon step + MoE bias update: ms/step, tokens/s, share of the step in the optimizer update) for the
# moonlight4j backends (cpu oracle, nd4j) and for a plain PyTorch model of the same shape (scripts/bench_torch_tiny.py),
# all on the same thread count and batch shapes, with the ratio moonlight/torch of tokens/s (> 1: moonlight faster).
# A measurement, not a test: on a shared machine the figures swing with the load (uptime is printed).
#
#   scripts/bench-vs-torch.sh [threads (default 2)] [forward BxT (default 4x64)] [train BxT (default 16x64)]
#                             [reps (default 5)] [warm-up (default 2)]
#
# Needs: the project (./moonlight builds it), /usr/bin/python3 with torch (Debian python3-torch), python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads="${1:-2}"
fshape="${2:-4x64}"
tshape="${3:-16x64}"
reps="${4:-5}"
warmup="${5:-2}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
export MOONLIGHT_JAVA_OPTS="-Xmx8g -Dmoonlight.cpu.threads=$threads"
rows="$(mktemp)"
trap 'rm -f "$rows"' EXIT
echo "bench-vs-torch: $threads threads, forward $fshape, train $tshape, $reps reps after $warmup warm-up," \
     "$(nproc) CPUs, load: $(uptime | sed 's/.*load average: //')" >&2

# Java lines → rows `impl, case, median seconds, tokens/s, optimizer share, min seconds` (tab-separated).
for be in cpu nd4j; do
  ./moonlight bench forward --preset tiny --shape "$fshape" --backend "$be" --reps "$reps" --warmup "$warmup" 2>/dev/null \
    | tee /dev/stderr \
    | sed -nE "s/^forward tiny .* batch ([0-9x]+) F32 on [^:]+: median ([0-9.]+) s \(min ([0-9.]+),.*, ([0-9.]+) tokens\/s$/$be\tforward \1\t\2\t\4\t\t\3/p" >> "$rows"
  ./moonlight bench train --preset tiny --shape "$tshape" --backend "$be" --reps "$reps" --warmup "$warmup" 2>/dev/null \
    | tee /dev/stderr \
    | sed -nE "s/^train step tiny ([0-9x]+) \(([a-z]+)\) on [^:]+: median ([0-9.]+) ms\/step \(min ([0-9.]+),.*, ([0-9.]+) tokens\/s, optimizer update ([0-9.]+)% .*/$be\ttrain \1 (\2)\t\3e-3\t\5\t\6e-2\t\4e-3/p" >> "$rows"
done
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$root/scripts/bench_torch_tiny.py" "$threads" "$fshape" "$tshape" "$reps" "$warmup" >> "$rows"
else
  echo "bench-vs-torch: /usr/bin/python3 has no torch (apt-get install python3-torch), column skipped" >&2
fi
echo "load after: $(uptime | sed 's/.*load average: //')" >&2
python3 "$root/scripts/bench_vs_torch_format.py" < "$rows"
