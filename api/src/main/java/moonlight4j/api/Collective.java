package moonlight4j.api;

import java.time.Duration;

/**
 * One rank's handle on a data-parallel group (docs/muon.md#distributed-muon): the collectives that
 * Distributed Muon and data-parallel training need, on host arrays. F32 payloads are {@code float[]}, BF16
 * payloads raw bf16 bits in {@code short[]} (as {@link Backend#fromBf16Bits}).
 *
 * <p>Every rank calls the same collectives in the same order with matching sizes. All calls are blocking and
 * bounded: when another rank dies, hangs or calls a different collective, the call throws
 * {@link CollectiveException} naming the collective, this rank and the cause within {@link #timeout()} (an engine
 * that cannot recover a hung peer, such as MPI, aborts the whole job after printing that message).
 *
 * <p>Reductions sum in fp32. A BF16 reduction widens every contribution to fp32, sums, and rounds the sum to bf16
 * once (round-to-nearest-even). Engines document their summation order; {@code local} sums in rank order
 * {@code ((x_0 + x_1) + x_2) + …}, which is what one process computes when it adds the ranks' parts in that order.
 */
public interface Collective extends AutoCloseable {

    /** What a reduction computes element-wise. MEAN is the fp32 SUM divided by {@link #worldSize()}. */
    enum ReduceOp { SUM, MEAN, MAX }

    /** The engine's name ({@code local}, {@code mpi}, ...). */
    String engine();

    /** This rank, {@code 0 ≤ rank < worldSize}. */
    int rank();

    /** N, the number of ranks. */
    int worldSize();

    /** How long a collective waits for the other ranks before failing. */
    Duration timeout();

    /** In place: {@code buf ← op over ranks of buf}. */
    void allReduce(float[] buf, ReduceOp op);

    /** In place on bf16 bits, fp32 accumulation, one rounding. */
    void allReduceBf16(short[] buf, ReduceOp op);

    /**
     * {@code recv ← op over ranks of send[rank·n, (rank+1)·n)} with {@code n = recv.length} and
     * {@code send.length == worldSize·n}: rank r receives the reduced r-th chunk.
     */
    void reduceScatter(float[] send, float[] recv, ReduceOp op);

    /** {@link #reduceScatter(float[], float[], ReduceOp)} on bf16 bits (fp32 accumulation, one rounding). */
    void reduceScatterBf16(short[] send, short[] recv, ReduceOp op);

    /** {@code recv[r·n, (r+1)·n) ← send of rank r}, {@code n = send.length}, {@code recv.length == worldSize·n}. */
    void allGather(float[] send, float[] recv);

    /** {@link #allGather(float[], float[])} on bf16 bits (no arithmetic, bits unchanged). */
    void allGatherBf16(short[] send, short[] recv);

    /** {@link #allGather(float[], float[])} on 64-bit integers (control data: config hashes, flags, counts). */
    void allGatherLongs(long[] send, long[] recv);

    /** In place: every rank's {@code buf ← buf of rank root}. */
    void broadcast(float[] buf, int root);

    /** Returns when every rank has called it (or throws after {@link #timeout()}). */
    void barrier();

    /**
     * What this rank has sent so far: payload bytes by the ring-algorithm count (all-reduce {@code 2(N−1)/N·size},
     * reduce-scatter {@code (N−1)/N·send}, all-gather {@code (N−1)/N·recv}, broadcast {@code size} at the root),
     * the number of calls and the wall time spent inside collectives.
     */
    Traffic traffic();

    /** Counters of {@link #traffic()}. */
    record Traffic(long bytes, long calls, long nanos) {
        public Traffic minus(Traffic earlier) {
            return new Traffic(bytes - earlier.bytes, calls - earlier.calls, nanos - earlier.nanos);
        }
    }

    /** Leaves the group; further calls fail. */
    @Override
    void close();
}
