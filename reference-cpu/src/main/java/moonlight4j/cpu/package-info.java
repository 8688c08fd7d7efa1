/**
 * The {@code cpu} backend: the plain-Java oracle that every other backend and every golden case is held against.
 * Deterministic (fixed summation order, independent of the thread count), bf16 emulated with one
 * round-to-nearest-even after every operation, which reproduces the release's bf16 Newton-Schulz bits
 * (docs/muon.md#bf16-newton-schulz-bits).
 *
 * <p>Reading order: {@link moonlight4j.cpu.CpuBackend} (the promise: what it is and what it does not do) →
 * {@link moonlight4j.cpu.CpuTensor} → {@link moonlight4j.cpu.Precision} (the two roundings) →
 * {@link moonlight4j.cpu.Elementwise} → {@link moonlight4j.cpu.FloatLoops} → {@link moonlight4j.cpu.Reductions} →
 * {@link moonlight4j.cpu.Workers} (the threads: independent tasks only) → {@link moonlight4j.cpu.Gemm} (the packed,
 * blocked, multi-threaded matrix product that still adds in index order) → {@link moonlight4j.cpu.FusedUpdates} →
 * {@link moonlight4j.cpu.LayerKernels} (RMSNorm, RoPE) → {@link moonlight4j.cpu.SoftmaxKernels} (softmax, cross-entropy) →
 * {@link moonlight4j.cpu.IndexKernels} (gathers, scatters, top-k); {@link moonlight4j.cpu.CpuDataOps},
 * {@link moonlight4j.cpu.Layout} and {@link moonlight4j.cpu.Transfer} move data;
 * {@link moonlight4j.cpu.CpuBackendProvider} registers it.
 */
package moonlight4j.cpu;
