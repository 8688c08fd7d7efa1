package moonlight4j.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The backend's worker threads, which share each job with the calling thread. They only ever run <em>independent</em>
 * tasks, each writing its own elements, so what a task computes never depends on which thread runs it or when: the
 * GEMM's tiles ({@link Gemm}) and the fixed {@value #CHUNK}-element chunks or row blocks of the element-wise loops
 * ({@link #forChunks}, {@link #forRows}). Sums stay on one thread, in index order.
 *
 * <p><b>Hand-off.</b> A job is published in a volatile field; an idle worker polls it for {@link #SPIN_NANOS} after
 * its last job before it parks, and the caller polls for its job's last tasks the same way. A training step on the
 * tiny preset runs about 500 jobs, most of a few microseconds, back to back; waking a parked thread (on this 2-vCPU
 * machine, a halted virtual CPU) took longer than many of them, so a worker queued per job mostly arrived after the
 * caller had done the work. Measured (2-core AMD EPYC, JDK 17): a 256×128·128×128 product on two threads, median
 * 0.142 ms with an executor hand-off, 0.087 ms polling, 0.119 ms on one thread; in a JFR profile of the tiny step,
 * the caller's samples inside shared jobs went from 45% to 77% with the polling, the 4,096-element chunks (65,536
 * before: most of the tiny model's activations were one chunk) and the row-parallel RMSNorm backward, RoPE and
 * cross-entropy. The price: while a job follows another within 200 µs, the worker keeps its core busy.
 */
final class Workers implements AutoCloseable {

    /**
     * Elements per task of an element-wise loop; loops of at most this many run on the caller. Tiny-preset AdamW
     * steps took 227–237 ms with 4,096, 264–275 with 16,384 or 65,536; 1,024 and 2,048 were within the noise of 4,096.
     */
    static final int CHUNK = 1 << 12;

    /** How long an idle worker polls for the next job, and a caller for its job's last tasks, before parking. */
    static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Helper[] helpers;
    /** One job at a time: a runAll from another thread while a job runs takes all its tasks itself. */
    private final ReentrantLock oneJob = new ReentrantLock();
    private volatile Job current;
    private volatile boolean closed;

    /** @param threads threads that share the work (≥ 1): the caller and {@code threads − 1} workers. */
    Workers(int threads) {
        if (threads < 1) throw new IllegalArgumentException("cpu backend: threads must be ≥ 1, got " + threads);
        this.threads = threads;
        this.helpers = new Helper[threads - 1];
        for (int h = 0; h < helpers.length; h++) {
            helpers[h] = new Helper();
            helpers[h].setDaemon(true);
            helpers[h].start();
        }
    }

    int threads() {
        return threads;
    }

    /** True when there is more than one thread to share work. */
    boolean parallel() {
        return helpers.length > 0;
    }

    /**
     * Runs {@code task(0), ..., task(tasks − 1)} and waits for all: the caller and the workers each take the next
     * task number from one counter until none is left. The caller works instead of waiting, and returns once every
     * task has ended; a worker that comes late finds no task left. A failing task stops the job from starting
     * further tasks; its exception is rethrown (a worker's wrapped in an {@link IllegalStateException}) after the
     * running ones end.
     */
    void runAll(int tasks, IntConsumer task) {
        if (helpers.length == 0 || tasks <= 1 || !oneJob.tryLock()) {
            for (int t = 0; t < tasks; t++) task.accept(t);
            return;
        }
        try {
            Job job = new Job(tasks, task, Thread.currentThread());
            current = job;
            for (Helper h : helpers) if (h.parked) LockSupport.unpark(h);
            job.take(false);
            job.awaitEnd();
            current = null;
            job.rethrow();
        } finally {
            oneJob.unlock();
        }
    }

    /** One runAll: its tasks, the next task number to hand out, how many have ended, and the first failure. */
    private static final class Job {
        final int tasks;
        final IntConsumer task;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger(), ended = new AtomicInteger();
        /** The first failure; a worker's already wrapped, so which thread failed needs no second field. */
        volatile Throwable failure;

        Job(int tasks, IntConsumer task, Thread caller) {
            this.tasks = tasks;
            this.task = task;
            this.caller = caller;
        }

        /** Runs task numbers until none is left; the worker that ends the last task wakes the caller. */
        void take(boolean onWorker) {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                try {
                    if (failure == null) task.accept(t);
                } catch (Throwable e) {                       // any throwable: a worker that died would leave the job unfinished
                    if (failure == null) {
                        failure = onWorker ? new IllegalStateException("cpu backend: worker failed: " + e, e) : e;
                    }
                } finally {
                    if (ended.incrementAndGet() == tasks && onWorker) LockSupport.unpark(caller);
                }
            }
        }

        /** Waits (polling, then parked) until every task has ended. */
        void awaitEnd() {
            long start = System.nanoTime();
            while (ended.get() < tasks) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.parkNanos(this, SPIN_NANOS);
            }
        }

        void rethrow() {
            Throwable e = failure;
            if (e == null) return;
            if (e instanceof Error err) throw err;
            if (e instanceof RuntimeException re) throw re;
            throw new IllegalStateException("cpu backend: task failed: " + e, e);
        }
    }

    /** A worker thread: takes part in each new job, polls for {@link #SPIN_NANOS} after it, then parks. */
    private final class Helper extends Thread {
        volatile boolean parked;

        Helper() {
            super("moonlight-cpu-worker");
        }

        @Override
        public void run() {
            Job last = null;
            while (!closed) {
                Job job = current;
                if (job != null && job != last) {
                    last = job;
                    job.take(true);
                    continue;
                }
                long start = System.nanoTime();
                while (!closed && ((job = current) == null || job == last)) {
                    if (System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;                         // runAll reads this after publishing its job
                        if (!closed && ((job = current) == null || job == last)) LockSupport.park(this);
                        parked = false;
                        start = System.nanoTime();
                    }
                }
            }
        }
    }

    /**
     * {@code task(0), ..., task(tasks − 1)} that together touch {@code elements} elements: on the workers when that is
     * more than one {@link #CHUNK} (below it, handing tasks to threads costs more than it saves), else on the caller.
     */
    void runAll(int tasks, long elements, IntConsumer task) {
        if (elements <= CHUNK) {
            for (int t = 0; t < tasks; t++) task.accept(t);
        } else {
            runAll(tasks, task);
        }
    }

    /** An element-wise loop body over {@code [from, to)}. */
    interface Range {
        void run(int from, int to);
    }

    /**
     * How many chunks {@link #forChunks} hands out for n elements: at least one, so that a per-chunk result array
     * indexed by {@code from / CHUNK} always has the slot its body writes (an empty loop is one empty chunk).
     */
    static int chunks(int n) {
        return Math.max(1, (n + CHUNK - 1) / CHUNK);
    }

    /** {@code body} over {@code [0, n)} in the chunks {@code [c·CHUNK, min(n, (c+1)·CHUNK))}. */
    void forChunks(int n, Range body) {
        int chunks = chunks(n);
        if (chunks == 1) {
            body.run(0, n);
            return;
        }
        runAll(chunks, c -> body.run(c * CHUNK, Math.min(n, (c + 1) * CHUNK)));
    }

    /**
     * {@code body} over the rows {@code [0, rows)} of {@code rowLength} elements each, in fixed blocks of about one
     * {@link #CHUNK} of elements (at least one row) — for kernels whose rows are independent.
     */
    void forRows(int rows, int rowLength, Range body) {
        int block = Math.max(1, CHUNK / Math.max(1, rowLength));
        int blocks = (rows + block - 1) / block;
        runAll(blocks, (long) rows * rowLength, b -> body.run(b * block, Math.min(rows, (b + 1) * block)));
    }

    @Override
    public void close() {
        closed = true;
        for (Helper h : helpers) LockSupport.unpark(h);
    }
}
