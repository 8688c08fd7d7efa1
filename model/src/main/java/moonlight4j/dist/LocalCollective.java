package moonlight4j.dist;

import moonlight4j.api.Bf16;
import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.Shapes;
import moonlight4j.api.TrafficCounter;

import java.time.Duration;

/**
 * One rank of the {@code local} engine (ranks are threads of one JVM, {@link LocalGroup}). Reductions run in rank
 * order {@code ((x_0 + x_1) + x_2) + …} in fp32 on every rank, so all ranks get identical bits and one process
 * that adds the ranks' parts in that order gets them too.
 */
final class LocalCollective implements Collective {

    private final LocalGroup g;
    private final int rank;
    private final TrafficCounter traffic;
    private boolean closed;

    LocalCollective(LocalGroup group, int rank) {
        this.g = group;
        this.rank = rank;
        this.traffic = new TrafficCounter(group.n);
    }

    @Override public String engine() { return "local"; }
    @Override public int rank() { return rank; }
    @Override public int worldSize() { return g.n; }
    @Override public Duration timeout() { return g.timeout; }
    @Override public Traffic traffic() { return traffic.snapshot(); }

    @Override
    public void allReduce(float[] buf, ReduceOp op) {
        long t0 = System.nanoTime();
        Object[] all = enter("allReduce(F32 " + buf.length + ", " + op + ")", buf);
        float[] out = reduce(all, 0, buf.length, op);
        g.leave(rank, "allReduce");
        System.arraycopy(out, 0, buf, 0, buf.length);
        traffic.allReduce(4L * buf.length, System.nanoTime() - t0);
    }

    @Override
    public void allReduceBf16(short[] buf, ReduceOp op) {
        long t0 = System.nanoTime();
        Object[] all = enter("allReduce(BF16 " + buf.length + ", " + op + ")", Bf16.widen(buf));
        float[] out = reduce(all, 0, buf.length, op);
        g.leave(rank, "allReduce");
        Bf16.roundInto(out, buf);
        traffic.allReduce(2L * buf.length, System.nanoTime() - t0);
    }

    @Override
    public void reduceScatter(float[] send, float[] recv, ReduceOp op) {
        long t0 = System.nanoTime();
        Shapes.checkReduceScatter(g.n, send.length, recv.length);
        Object[] all = enter("reduceScatter(F32 " + send.length + ", " + op + ")", send);
        float[] out = reduce(all, rank * recv.length, recv.length, op);
        g.leave(rank, "reduceScatter");
        System.arraycopy(out, 0, recv, 0, recv.length);
        traffic.reduceScatter(4L * send.length, System.nanoTime() - t0);
    }

    @Override
    public void reduceScatterBf16(short[] send, short[] recv, ReduceOp op) {
        long t0 = System.nanoTime();
        Shapes.checkReduceScatter(g.n, send.length, recv.length);
        Object[] all = enter("reduceScatter(BF16 " + send.length + ", " + op + ")", Bf16.widen(send));
        float[] out = reduce(all, rank * recv.length, recv.length, op);
        g.leave(rank, "reduceScatter");
        Bf16.roundInto(out, recv);
        traffic.reduceScatter(2L * send.length, System.nanoTime() - t0);
    }

    @Override
    public void allGather(float[] send, float[] recv) {
        long t0 = System.nanoTime();
        Shapes.checkAllGather(g.n, send.length, recv.length);
        Object[] all = enter("allGather(F32 " + send.length + ")", send);
        for (int r = 0; r < g.n; r++) System.arraycopy((float[]) all[r], 0, recv, r * send.length, send.length);
        g.leave(rank, "allGather");
        traffic.allGather(4L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void allGatherBf16(short[] send, short[] recv) {
        long t0 = System.nanoTime();
        Shapes.checkAllGather(g.n, send.length, recv.length);
        Object[] all = enter("allGather(BF16 " + send.length + ")", send);
        for (int r = 0; r < g.n; r++) System.arraycopy((short[]) all[r], 0, recv, r * send.length, send.length);
        g.leave(rank, "allGather");
        traffic.allGather(2L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void allGatherLongs(long[] send, long[] recv) {
        long t0 = System.nanoTime();
        Shapes.checkAllGather(g.n, send.length, recv.length);
        Object[] all = enter("allGather(I64 " + send.length + ")", send);
        for (int r = 0; r < g.n; r++) System.arraycopy((long[]) all[r], 0, recv, r * send.length, send.length);
        g.leave(rank, "allGather");
        traffic.allGather(8L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void broadcast(float[] buf, int root) {
        long t0 = System.nanoTime();
        if (root < 0 || root >= g.n) throw new IllegalArgumentException("broadcast root " + root + " outside [0, " + g.n + ")");
        Object[] all = enter("broadcast(F32 " + buf.length + ", root " + root + ")", buf);
        float[] src = (float[]) all[root];
        float[] copy = rank == root ? null : src.clone();
        g.leave(rank, "broadcast");
        if (copy != null) System.arraycopy(copy, 0, buf, 0, buf.length);
        traffic.broadcast(4L * buf.length, rank == root, System.nanoTime() - t0);
    }

    @Override
    public void barrier() {
        long t0 = System.nanoTime();
        enter("barrier", null);
        g.leave(rank, "barrier");
        traffic.other(System.nanoTime() - t0);
    }

    @Override
    public void close() {
        closed = true;
    }

    private Object[] enter(String op, Object payload) {
        if (closed) throw new CollectiveException("local rank " + rank + ": " + op + " on a closed collective");
        return g.enter(rank, op, payload);
    }

    /** Element-wise {@code op} of {@code all[r][from, from+len)} over r = 0, 1, …, N−1 in that order (fp32). */
    private float[] reduce(Object[] all, int from, int len, ReduceOp op) {
        float[] acc = new float[len];
        System.arraycopy((float[]) all[0], from, acc, 0, len);
        for (int r = 1; r < g.n; r++) {
            float[] x = (float[]) all[r];
            for (int i = 0; i < len; i++) {
                acc[i] = op == ReduceOp.MAX ? Math.max(acc[i], x[from + i]) : acc[i] + x[from + i];
            }
        }
        if (op == ReduceOp.MEAN) for (int i = 0; i < len; i++) acc[i] /= g.n;
        return acc;
    }


}
