/**
 * The {@code nd4j} backend: the {@link moonlight4j.api.Backend} SPI on ND4J arrays ({@code nd4j-native} with
 * OpenBLAS by default, {@code nd4j-cuda} with the {@code -Pcuda} build), the fast path for large matrix products and
 * Newton-Schulz. BF16 is stored as bf16-exact fp32 and computed in fp32 with one rounding per operation, so it passes
 * the same contract and golden tolerances as the oracle (docs/verification.md#contract-suite).
 *
 * <p>Reading order: {@link moonlight4j.nd4j.Nd4jBackend} → {@link moonlight4j.nd4j.Nd4jTensor} →
 * {@link moonlight4j.nd4j.Bf16Arrays} (the bf16 emulation) → {@link moonlight4j.nd4j.MatMul} →
 * {@link moonlight4j.nd4j.Elementwise} → {@link moonlight4j.nd4j.Reductions} → {@link moonlight4j.nd4j.Layers},
 * {@link moonlight4j.nd4j.Rope}, {@link moonlight4j.nd4j.Losses} → {@link moonlight4j.nd4j.Indexing} →
 * {@link moonlight4j.nd4j.Updates}; data movement in {@link moonlight4j.nd4j.Nd4jDataOps},
 * {@link moonlight4j.nd4j.HostArrays} and {@link moonlight4j.nd4j.Transfer};
 * {@link moonlight4j.nd4j.Nd4jBackendProvider} (priority by build flavour) and {@link moonlight4j.nd4j.DeviceInfo}.
 * The measurements that run on it (moonlight4j.cli's BenchTable and MemoryCheck) live with the command line.
 */
package moonlight4j.nd4j;
