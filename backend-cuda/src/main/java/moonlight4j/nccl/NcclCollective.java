package moonlight4j.nccl;

import moonlight4j.api.Bf16;
import moonlight4j.api.Collective;
import moonlight4j.api.Shapes;
import moonlight4j.api.TrafficCounter;

import java.time.Duration;

import static moonlight4j.nccl.NcclNatives.nccl;
import static org.bytedeco.cuda.global.nccl.ncclAllGather;
import static org.bytedeco.cuda.global.nccl.ncclAllReduce;
import static org.bytedeco.cuda.global.nccl.ncclBroadcast;
import static org.bytedeco.cuda.global.nccl.ncclFloat32;
import static org.bytedeco.cuda.global.nccl.ncclInt64;
import static org.bytedeco.cuda.global.nccl.ncclMax;
import static org.bytedeco.cuda.global.nccl.ncclReduceScatter;
import static org.bytedeco.cuda.global.nccl.ncclSum;
import static org.bytedeco.cuda.global.nccl.ncclUint8;

/**
 * One rank of the {@code nccl} engine: a thread that owns CUDA device {@code rank}, its NCCL communicator and stream
 * ({@link NcclRank}). Every call stages the Java array through pinned host memory into a device buffer, runs the NCCL
 * collective in place on the rank's stream, copies the result back and waits for the stream with a bounded poll
 * ({@link NcclRank#run}).
 *
 * <p>Arithmetic, as the SPI defines it. SUM and MAX reduce fp32 on the GPU ({@code ncclFloat32},
 * {@code ncclSum}/{@code ncclMax}); MEAN is the fp32 SUM divided by N here on the host (not {@code ncclAvg}, which
 * for floats multiplies each contribution by 1/N before summing). A BF16 reduction widens the bits to fp32 here,
 * sums in fp32 with NCCL and rounds the result to bf16 once (round-to-nearest-even, {@link Bf16Bits}); NCCL's own
 * {@code ncclBfloat16} sum would round after every step. All-gathers and broadcast only move data
 * ({@code ncclUint8} for bf16 bits, {@code ncclInt64} for longs): bits unchanged.
 *
 * <p>Summation order: NCCL's ring and tree algorithms add the ranks' contributions in the order of the ring or tree
 * it built from the topology, not in rank order (each chunk is reduced once and the result forwarded, so the ranks
 * agree), and a SUM over more than 2 ranks can differ from {@code local}'s {@code ((x_0 + x_1) + x_2) + …} in the
 * last bits. For N = 2, {@code x_0 + x_1 = x_1 + x_0} exactly, so the bits equal {@code local}'s; for N = 1 every
 * collective is the identity. MAX is order-free for finite values (NCCL's max may not propagate NaN, and may pick
 * either zero of {@code max(−0, +0)}, where {@code Math.max} gives +0).
 *
 * <p>{@link #traffic()} counts the SPI payload by the shared ring formulas (2 bytes per bf16 element, as
 * {@code local}), although a BF16 reduction moves fp32 over the wire.
 */
final class NcclCollective implements Collective {

    private final NcclRank r;
    private final TrafficCounter traffic;

    NcclCollective(NcclRank rank) {
        this.r = rank;
        this.traffic = new TrafficCounter(rank.n);
    }

    @Override public String engine() { return "nccl"; }
    @Override public int rank() { return r.rank; }
    @Override public int worldSize() { return r.n; }
    @Override public Duration timeout() { return r.group.timeout; }
    @Override public Traffic traffic() { return traffic.snapshot(); }

    @Override
    public void allReduce(float[] buf, ReduceOp op) {
        long t0 = System.nanoTime();
        allReduceF32("allReduce(F32 " + buf.length + ", " + op + ")", buf, op);
        traffic.allReduce(4L * buf.length, System.nanoTime() - t0);
    }

    @Override
    public void allReduceBf16(short[] buf, ReduceOp op) {
        long t0 = System.nanoTime();
        float[] wide = Bf16.widen(buf);
        allReduceF32("allReduce(BF16 " + buf.length + ", " + op + ")", wide, op);
        Bf16.roundInto(wide, buf);
        traffic.allReduce(2L * buf.length, System.nanoTime() - t0);
    }

    @Override
    public void reduceScatter(float[] send, float[] recv, ReduceOp op) {
        long t0 = System.nanoTime();
        Shapes.checkReduceScatter(r.n, send.length, recv.length);
        reduceScatterF32("reduceScatter(F32 " + send.length + ", " + op + ")", send, recv, op);
        traffic.reduceScatter(4L * send.length, System.nanoTime() - t0);
    }

    @Override
    public void reduceScatterBf16(short[] send, short[] recv, ReduceOp op) {
        long t0 = System.nanoTime();
        Shapes.checkReduceScatter(r.n, send.length, recv.length);
        float[] out = new float[recv.length];
        reduceScatterF32("reduceScatter(BF16 " + send.length + ", " + op + ")", Bf16.widen(send), out, op);
        Bf16.roundInto(out, recv);
        traffic.reduceScatter(2L * send.length, System.nanoTime() - t0);
    }

    @Override
    public void allGather(float[] send, float[] recv) {
        long t0 = System.nanoTime();
        Shapes.checkAllGather(r.n, send.length, recv.length);
        long part = 4L * send.length, at = r.rank * part;
        r.run("allGather(F32 " + send.length + ")", 4L * recv.length, t0, s -> {
            s.hostFloats(at).put(send, 0, send.length);
            s.toDevice(at, part);
            nccl("ncclAllGather", ncclAllGather(s.device(at), s.device(0), send.length, ncclFloat32, r.comm, r.stream));
            s.toHost(0, 4L * recv.length);
        }, s -> s.hostFloats(0).get(recv, 0, recv.length));
        traffic.allGather(4L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void allGatherBf16(short[] send, short[] recv) {
        long t0 = System.nanoTime();
        Shapes.checkAllGather(r.n, send.length, recv.length);
        long part = 2L * send.length, at = r.rank * part;
        r.run("allGather(BF16 " + send.length + ")", 2L * recv.length, t0, s -> {
            s.hostShorts(at).put(send, 0, send.length);
            s.toDevice(at, part);
            nccl("ncclAllGather", ncclAllGather(s.device(at), s.device(0), part, ncclUint8, r.comm, r.stream));
            s.toHost(0, 2L * recv.length);
        }, s -> s.hostShorts(0).get(recv, 0, recv.length));
        traffic.allGather(2L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void allGatherLongs(long[] send, long[] recv) {
        long t0 = System.nanoTime();
        Shapes.checkAllGather(r.n, send.length, recv.length);
        long part = 8L * send.length, at = r.rank * part;
        r.run("allGather(I64 " + send.length + ")", 8L * recv.length, t0, s -> {
            s.hostLongs(at).put(send, 0, send.length);
            s.toDevice(at, part);
            nccl("ncclAllGather", ncclAllGather(s.device(at), s.device(0), send.length, ncclInt64, r.comm, r.stream));
            s.toHost(0, 8L * recv.length);
        }, s -> s.hostLongs(0).get(recv, 0, recv.length));
        traffic.allGather(8L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void broadcast(float[] buf, int root) {
        long t0 = System.nanoTime();
        if (root < 0 || root >= r.n) throw new IllegalArgumentException("broadcast root " + root + " outside [0, " + r.n + ")");
        long bytes = 4L * buf.length;
        r.run("broadcast(F32 " + buf.length + ", root " + root + ")", bytes, t0, s -> {
            if (r.rank == root) {
                s.hostFloats(0).put(buf, 0, buf.length);
                s.toDevice(0, bytes);
            }
            nccl("ncclBroadcast", ncclBroadcast(s.device(0), s.device(0), buf.length, ncclFloat32, root, r.comm, r.stream));
            s.toHost(0, bytes);
        }, s -> s.hostFloats(0).get(buf, 0, buf.length));
        traffic.broadcast(bytes, r.rank == root, System.nanoTime() - t0);
    }

    /** A one-float all-reduce: it completes on a rank only once every rank has entered it. */
    @Override
    public void barrier() {
        long t0 = System.nanoTime();
        r.run("barrier", 4, t0, s -> {
            s.hostFloats(0).put(new float[]{0f}, 0, 1);
            s.toDevice(0, 4);
            nccl("ncclAllReduce", ncclAllReduce(s.device(0), s.device(0), 1, ncclFloat32, ncclSum, r.comm, r.stream));
        }, s -> { });
        traffic.other(System.nanoTime() - t0);
    }

    /** Frees the buffers and the stream and destroys the communicator (aborts it when the group has failed). */
    @Override
    public void close() {
        r.close();
    }

    /** In place on {@code buf}: fp32 SUM or MAX over ranks, MEAN = SUM / N. */
    private void allReduceF32(String what, float[] buf, ReduceOp op) {
        long bytes = 4L * buf.length;
        r.run(what, bytes, System.nanoTime(), s -> {
            s.hostFloats(0).put(buf, 0, buf.length);
            s.toDevice(0, bytes);
            nccl("ncclAllReduce", ncclAllReduce(s.device(0), s.device(0), buf.length, ncclFloat32, ncclOp(op), r.comm, r.stream));
            s.toHost(0, bytes);
        }, s -> s.hostFloats(0).get(buf, 0, buf.length));
        if (op == ReduceOp.MEAN) for (int i = 0; i < buf.length; i++) buf[i] /= r.n;
    }

    /** {@code recv ← op over ranks of send[rank·n, (rank+1)·n)}; in place: rank r's chunk of the buffer is its output. */
    private void reduceScatterF32(String what, float[] send, float[] recv, ReduceOp op) {
        long bytes = 4L * send.length, part = 4L * recv.length, at = r.rank * part;
        r.run(what, bytes, System.nanoTime(), s -> {
            s.hostFloats(0).put(send, 0, send.length);
            s.toDevice(0, bytes);
            nccl("ncclReduceScatter", ncclReduceScatter(s.device(0), s.device(at), recv.length, ncclFloat32, ncclOp(op), r.comm, r.stream));
            s.toHost(at, part);
        }, s -> s.hostFloats(at).get(recv, 0, recv.length));
        if (op == ReduceOp.MEAN) for (int i = 0; i < recv.length; i++) recv[i] /= r.n;
    }

    private static int ncclOp(ReduceOp op) {
        return op == ReduceOp.MAX ? ncclMax : ncclSum;
    }


}
