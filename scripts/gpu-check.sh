#!/usr/bin/env bash
# GPU check of the nd4j backend on nd4j-cuda-11.6 (Maven profile `cuda`): prints the GPU, builds with -Pcuda, lists
# the backends (nd4j must be available and name the GPU), runs the golden verifier on nd4j, then the benchmark
# and the leak check; then the `nccl` collective engine (its tests, and a 5-step data-parallel training run).
# Not yet run on a GPU (none was available when it was written).
#
#   scripts/gpu-check.sh
#
# Needs: an NVIDIA GPU and driver (nvidia-smi), a CUDA 11.6 runtime on the library path (libcudart.so.11.0,
# libcublas/libcublasLt 11, libcusolver 11; nd4j-cuda-11.6 1.0.0-M2.1 links to them), and Maven Central access or a
# local repository already holding org.nd4j:nd4j-cuda-11.6:1.0.0-M2.1 (+ linux-x86_64, ≈600 MB). The natives are
# built for CUDA 11.6 compute capabilities (≤ 8.6); newer GPUs (Hopper 9.0) need the driver to JIT their PTX, and
# if that fails `backends` shows nd4j as unavailable with ND4J's reason. The nccl engine also needs NCCL 2
# (libnccl.so.2; JavaCPP 1.5.7's bindings are NCCL 2.11.4) on the library path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

echo "== GPU"
if ! nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; then
  echo "gpu-check: nvidia-smi failed: no NVIDIA GPU or driver here" >&2
  exit 1
fi

echo "== build (the launcher runs mvn -Pcuda package -DskipTests; its stamp records the profile)"
export MOONLIGHT_MVN_ARGS="-Pcuda"
./moonlight --version >/dev/null
if ! grep -q 'nd4j-cuda-11.6' verification/target/classpath.txt; then
  echo "gpu-check: the class path has no nd4j-cuda-11.6 jar; the cuda profile did not apply" >&2
  exit 1
fi

echo "== ./moonlight backends"
out="$(./moonlight backends)"
echo "$out"
if echo "$out" | grep -q 'nd4j .*unavailable'; then
  echo "gpu-check: nd4j cannot run on this GPU machine (reason above)" >&2
  exit 1
fi

echo "== ./moonlight verify --backend nd4j"
./moonlight verify --backend nd4j

echo "== benchmark (BenchTable nd4j, then cpu for comparison)"
cp="$root/verification/target/classes:$(cat "$root/verification/target/classpath.txt")"
java -Xmx16g -cp "$cp" moonlight4j.cli.BenchTable nd4j 2> >(grep -v -e DEBUG -e SLF4J >&2) \
  | python3 "$root/scripts/bench_table_format.py" 0

echo "== leak check (200 Muon updates = 1,000 NS steps, 1024×1024, bf16)"
java -Xmx4g -cp "$cp" moonlight4j.cli.MemoryCheck nd4j 200 BF16 2>&1 | grep -v -e DEBUG -e SLF4J

echo "== nccl engine: NcclEngineTest (GPU parts print 'not run: <reason>' and are skipped when NCCL cannot load)"
mvn -q -B -Pcuda -pl backend-cuda -am test -Dtest=NcclEngineTest -Dsurefire.failIfNoSpecifiedTests=false
for f in backend-cuda/target/surefire-reports/*NcclEngineTest.txt; do sed -n 4p "$f"; done

echo "== ./moonlight train --dist nccl --ranks 1 --steps 5"
rm -rf /tmp/nccl-run
./moonlight train --dist nccl --ranks 1 --steps 5 --out /tmp/nccl-run
ls /tmp/nccl-run

echo "== ./moonlight bench dist --dist nccl --ranks 1 (one GPU: the 1-rank plumbing only)"
./moonlight bench dist --dist nccl --ranks 1
