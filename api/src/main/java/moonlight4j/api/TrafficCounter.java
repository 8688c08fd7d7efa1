package moonlight4j.api;

import moonlight4j.api.Collective.Traffic;

/**
 * Counts what a rank sends, by the ring-algorithm formulas of NCCL/MPI for N ranks and a payload of {@code s}
 * bytes: all-reduce {@code 2(N−1)/N·s}, reduce-scatter {@code (N−1)/N·s_send}, all-gather {@code (N−1)/N·s_recv},
 * broadcast {@code s} (root only). Engines add the time spent inside each call; {@link Collective#traffic()}
 * returns {@link #snapshot()}. Shared by every engine so they all count alike.
 */
public final class TrafficCounter {

    private final int n;
    private long bytes;
    private long calls;
    private long nanos;

    public TrafficCounter(int worldSize) {
        this.n = worldSize;
    }

    public synchronized void allReduce(long size, long ns) {
        add(2 * size * (n - 1) / n, ns);
    }

    public synchronized void reduceScatter(long sendSize, long ns) {
        add(sendSize * (n - 1) / n, ns);
    }

    public synchronized void allGather(long recvSize, long ns) {
        add(recvSize * (n - 1) / n, ns);
    }

    public synchronized void broadcast(long size, boolean root, long ns) {
        add(root && n > 1 ? size : 0, ns);
    }

    public synchronized void other(long ns) {
        add(0, ns);
    }

    private void add(long b, long ns) {
        bytes += b;
        calls++;
        nanos += ns;
    }

    public synchronized Traffic snapshot() {
        return new Traffic(bytes, calls, nanos);
    }
}
