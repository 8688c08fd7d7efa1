/**
 * Distributed Muon and data parallelism over the {@link moonlight4j.api.Collective} SPI (SPEC §2.4, issue 8).
 *
 * <p>Reading order: {@link moonlight4j.dist.FlatLayout} (the ZeRO-1 flat buffer and its N partitions),
 * {@link moonlight4j.dist.DistributedMuon} (Algorithm 1 on that layout, the element-wise math shared with
 * {@link moonlight4j.optim.Muon} through {@link moonlight4j.optim.MuonRule}), {@link moonlight4j.dist.DataParallel}
 * (batch shards, global token count, config hash). Engines: {@code LocalCollectiveProvider} (threads of one JVM,
 * rank-order fp32 sums) and {@code MpiCollectiveProvider} (Open MPI through the foreign-function API; the binding
 * lives in {@code src/main/java22} and is compiled only on JDK 22+). {@link moonlight4j.dist.DistBench} prints the
 * memory and communication figures of §2.4.
 */
package moonlight4j.dist;
