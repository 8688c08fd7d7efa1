package moonlight4j.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The launcher of engines whose ranks are threads of this JVM ({@code local}, {@code nccl}): one thread per rank,
 * results in rank order. When a rank fails, the launcher waits at most two more timeouts for the others to notice
 * (their collectives fail once the rank has told its group), then interrupts the threads still running (hung) and
 * rethrows the root cause: a rank's own error before any {@link CollectiveException}, and a collective that failed
 * by itself (timed out, mismatched) before the other ranks' "aborted" reports.
 */
public final class RankThreads {

    /** What rank {@code rank}'s thread runs; on failure it tells its group (so peers fail fast) and rethrows. */
    public interface Body<T> {
        T run(int rank) throws Throwable;
    }

    private RankThreads() {
    }

    /**
     * Runs {@code body} for ranks {@code 0..ranks-1} on daemon threads named {@code name-<rank>}.
     *
     * @throws RuntimeException or Error: the root-cause failure (a checked one wrapped in CollectiveException)
     */
    public static <T> List<T> run(String name, int ranks, Duration timeout, Body<T> body) {
        AtomicReferenceArray<T> results = new AtomicReferenceArray<>(ranks);
        AtomicReferenceArray<Throwable> errors = new AtomicReferenceArray<>(ranks);
        CountDownLatch finished = new CountDownLatch(ranks);
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            Thread t = new Thread(() -> {
                try {
                    results.set(rank, body.run(rank));
                } catch (Throwable e) {
                    errors.set(rank, e);
                } finally {
                    finished.countDown();
                }
            }, name + "-" + r);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        try {
            while (!finished.await(50, TimeUnit.MILLISECONDS)) {
                if (rootCause(errors) != null) {                    // let the others notice, then give up on them
                    finished.await(2 * timeout.toMillis(), TimeUnit.MILLISECONDS);
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Throwable first = rootCause(errors);
        if (first != null) {
            threads.stream().filter(Thread::isAlive).forEach(Thread::interrupt);   // a hung rank: give it up
            if (first instanceof RuntimeException re) throw re;
            if (first instanceof Error er) throw er;
            throw new CollectiveException(first.toString(), first);
        }
        List<T> out = new ArrayList<>();
        for (int r = 0; r < ranks; r++) out.add(results.get(r));
        return out;
    }

    private static Throwable rootCause(AtomicReferenceArray<Throwable> errors) {
        Throwable any = null;
        for (int r = 0; r < errors.length(); r++) {
            Throwable e = errors.get(r);
            if (e == null) continue;
            if (!(e instanceof CollectiveException)) return e;
            if (any == null || aborted(any) && !aborted(e)) any = e;
        }
        return any;
    }

    private static boolean aborted(Throwable e) {
        return String.valueOf(e.getMessage()).contains(" aborted: ");
    }
}
