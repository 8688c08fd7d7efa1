/**
 * The {@code nccl} collective engine ({@code --dist nccl --ranks N}): one thread per GPU in this JVM, collectives by
 * NCCL through JavaCPP's {@code org.bytedeco:cuda}, behind the same {@link moonlight4j.api.Collective} SPI as the
 * {@code local} and {@code mpi} engines, so Distributed Muon (docs/muon.md#distributed-muon) runs on it unchanged.
 * Unavailable (with a reason, never a crash) on a machine without a GPU and the NCCL natives.
 *
 * <p>Reading order: {@link moonlight4j.nccl.NcclCollectiveProvider} (launch and availability) →
 * {@link moonlight4j.nccl.NcclGroup} (what the rank threads share) → {@link moonlight4j.nccl.NcclCollective} (one rank)
 * → {@link moonlight4j.nccl.NcclRank} (its device, communicator and stream) → {@link moonlight4j.nccl.Staging} (its
 * device and pinned host buffers) → {@link moonlight4j.nccl.NcclNatives} (loading) and
 * {@link moonlight4j.nccl.CallLog} (the last calls of every rank, for the error message of a mismatched collective).
 */
package moonlight4j.nccl;
