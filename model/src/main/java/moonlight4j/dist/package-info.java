/**
 * Distributed Muon and data parallelism over the {@link moonlight4j.api.Collective} SPI (the paper's Algorithm 1,
 * docs/muon.md#distributed-muon).
 *
 * <p>Reading order: {@link moonlight4j.dist.FlatLayout} (the ZeRO-1 flat buffer and its N partitions) →
 * {@link moonlight4j.dist.Zero1Optimizer} (reduce-scatter, the per-partition update, all-gather) →
 * {@link moonlight4j.dist.DistributedMuon} (Algorithm 1 on that layout; the element-wise math is shared with
 * {@link moonlight4j.optim.Muon} through {@link moonlight4j.optim.MuonRule}) and
 * {@link moonlight4j.dist.DistributedAdamW} (the ZeRO-1 baseline) → {@link moonlight4j.dist.DataParallel} (batch shards, global
 * token count, config hash) → {@link moonlight4j.dist.StepSync} (the one hook through which the training loops use
 * all of this: one process or N ranks, and the one place their optimizers are made) → {@link moonlight4j.dist.SavedOptimizerState} (sharded optimizer state read back on any world
 * size). Engines: {@code LocalCollectiveProvider} (threads of one JVM, rank-order fp32 sums) and
 * {@code MpiCollectiveProvider} (Open MPI through the foreign-function API; the binding lives in
 * {@code src/main/java22} and is compiled only on JDK 22+). {@link moonlight4j.dist.DistBench} measures the paper's
 * memory and communication claims.
 */
package moonlight4j.dist;
