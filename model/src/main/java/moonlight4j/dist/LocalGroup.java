package moonlight4j.dist;

import moonlight4j.api.CollectiveException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The rendezvous of the {@code local} engine: N ranks (threads of one JVM) exchange array references through
 * {@link #slots}. A collective is two barrier phases: every rank deposits its payload and waits (phase 1), reads
 * all payloads and computes its own result, waits again (phase 2) so no payload is reused while being read.
 * The barrier waits at most {@link #timeout}; a rank that fails breaks the barrier so the others stop at once.
 */
final class LocalGroup {

    final int n;
    final Duration timeout;
    private int arrived;                       // ranks waiting in the current barrier generation
    private long generation;
    final Object[] slots;
    private final String[] ops;
    private final long[] seq;                  // collectives entered by each rank
    private volatile String failure;           // first failure, for the others' messages

    LocalGroup(int n, Duration timeout) {
        if (n < 1) throw new IllegalArgumentException("--ranks must be ≥ 1, got " + n);
        this.n = n;
        this.timeout = timeout;
        this.slots = new Object[n];
        this.ops = new String[n];
        this.seq = new long[n];
    }

    /** Marks the group failed by {@code rank} and wakes every waiting rank. */
    synchronized void fail(int rank, Throwable t) {
        if (failure == null) failure = "rank " + rank + " failed: " + t;
        notifyAll();
    }

    /**
     * Phase 1 of collective {@code op} for {@code rank}: deposits {@code payload}, waits for all ranks and checks
     * that they entered the same collective with the same {@code signature} (op name and sizes).
     */
    Object[] enter(int rank, String op, Object payload) {
        long mySeq;
        synchronized (this) {
            mySeq = ++seq[rank];
        }   // seq is read under the lock by behind()
        slots[rank] = payload;
        ops[rank] = op;
        await(rank, op, mySeq);
        for (int r = 0; r < n; r++) {
            if (!ops[r].equals(ops[0])) {
                String msg = "local rank " + rank + ": collective #" + mySeq + " mismatch: rank 0 called " + ops[0]
                        + " but rank " + r + " called " + ops[r];
                fail(rank, new CollectiveException(msg));
                throw new CollectiveException(msg);
            }
        }
        return slots;
    }

    /** Phase 2: every rank has read the payloads. */
    void leave(int rank, String op) {
        await(rank, op, seq[rank]);
    }

    /**
     * A generation barrier under this object's lock: the last rank to arrive opens the generation; a waiting rank
     * wakes on that, on {@link #fail} or at the deadline, so a failure set at any moment is seen.
     */
    private synchronized void await(int rank, String op, long mySeq) {
        if (failure != null) throw new CollectiveException("local rank " + rank + ": " + op + " aborted: " + failure);
        long gen = generation;
        if (++arrived == n) {
            arrived = 0;
            generation++;
            notifyAll();
            return;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (generation == gen) {
            if (failure != null) throw new CollectiveException("local rank " + rank + ": " + op + " aborted: " + failure);
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                String msg = "local rank " + rank + ": " + op + " (collective #" + mySeq + ") timed out after "
                        + timeout.toMillis() + " ms; ranks that have not reached it: " + behind(mySeq);
                fail(rank, new CollectiveException(msg));
                throw new CollectiveException(msg);
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollectiveException("local rank " + rank + ": " + op + " interrupted");
            }
        }
    }

    private synchronized List<Integer> behind(long mySeq) {
        List<Integer> out = new ArrayList<>();
        for (int r = 0; r < n; r++) if (seq[r] < mySeq) out.add(r);
        return out;
    }
}
