package moonlight4j.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The backend's worker threads, which share each job with the calling thread. They only ever run <em>independent</em>
 * tasks, each writing its own elements, so what a task computes never depends on which thread runs it or when: the GEMM's tiles ({@link Gemm}) and the fixed
 * {@value #CHUNK}-element chunks of the large element-wise loops ({@link #forChunks}). Sums stay on one thread, in
 * index order.
 */
final class Workers implements AutoCloseable {

    /** Elements per task of an element-wise loop; loops of at most this many run on the caller. */
    static final int CHUNK = 1 << 16;

    private final int threads;
    private final ExecutorService pool;

    /** @param threads threads that share the work (≥ 1): the caller and {@code threads − 1} workers. */
    Workers(int threads) {
        if (threads < 1) throw new IllegalArgumentException("cpu backend: threads must be ≥ 1, got " + threads);
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "moonlight-cpu-worker");
            t.setDaemon(true);
            return t;
        });
    }

    int threads() {
        return threads;
    }

    /** True when there is more than one thread to share work. */
    boolean parallel() {
        return pool != null;
    }

    /**
     * Runs {@code task(0), ..., task(tasks − 1)} and waits for all: the caller and up to {@code threads − 1} workers
     * each take the next task number from one counter until none is left. Handing out numbers instead of one queued
     * job per task keeps the hand-off to one job per worker, and the caller works instead of waiting (on the tiny
     * preset most products and loops are a few tasks of a few microseconds each).
     */
    void runAll(int tasks, IntConsumer task) {
        if (pool == null || tasks <= 1) {
            for (int t = 0; t < tasks; t++) task.accept(t);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable take = () -> {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) task.accept(t);
        };
        int helpers = Math.min(threads - 1, tasks - 1);
        List<Future<?>> futures = new ArrayList<>(helpers);
        for (int h = 0; h < helpers; h++) futures.add(pool.submit(take));
        try {
            take.run();
        } catch (RuntimeException | Error e) {
            next.set(tasks);                      // the workers stop taking tasks; still wait for the ones running
            throw e;
        } finally {
            awaitAll(futures);
        }
    }

    /** Waits for every future; a worker's failure becomes an {@link IllegalStateException} with its cause. */
    private static void awaitAll(List<Future<?>> futures) {
        try {
            for (Future<?> f : futures) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("cpu backend: interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cpu backend: worker failed: " + e.getCause(), e.getCause());
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

    /** {@code body} over {@code [0, n)} in the chunks {@code [c·CHUNK, min(n, (c+1)·CHUNK))}. */
    void forChunks(int n, Range body) {
        int chunks = (n + CHUNK - 1) / CHUNK;
        if (chunks <= 1) {
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
        if (pool != null) pool.shutdownNow();
    }
}
