/**
 * The backend SPI: the tensor operations the model and the optimizers need, no more, each documented with its
 * shapes, dtype rule, what it allocates and how it rounds, so that a backend can be written and checked from the
 * Javadoc alone (docs/verification.md#adding-a-backend).
 *
 * <p>Reading order: {@link moonlight4j.api.DType} → {@link moonlight4j.api.Tensor} → {@link moonlight4j.api.Backend}
 * (the operations, grouped: creation and transfer, layout, arithmetic, reductions, the fused layers with their
 * backward, index ops, in-place optimizer updates) → {@link moonlight4j.api.Bf16} (the one round-to-nearest-even bf16
 * conversion) → {@link moonlight4j.api.Shapes} (the one argument check, so every backend fails with the same message)
 * → {@link moonlight4j.api.BackendProvider} and {@link moonlight4j.api.Backends} (how a backend is found and chosen).
 * The data-parallel half: {@link moonlight4j.api.Collective} (all-reduce, reduce-scatter, all-gather, broadcast,
 * barrier) with {@link moonlight4j.api.CollectiveProvider}, {@link moonlight4j.api.Collectives},
 * {@link moonlight4j.api.RankThreads} and {@link moonlight4j.api.TrafficCounter} (the bytes a ring algorithm sends).
 */
package moonlight4j.api;
