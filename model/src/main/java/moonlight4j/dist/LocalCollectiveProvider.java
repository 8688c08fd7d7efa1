package moonlight4j.dist;

import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.CollectiveProvider;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * {@code --dist local}: N ranks as threads of this JVM ({@code --ranks N}). When a rank's body throws, the group is
 * broken so the others' next collective fails at once; a rank that hangs makes the others time out; after the first
 * failure the launcher waits at most one more timeout for the remaining threads, then interrupts them and rethrows
 * that failure.
 */
public final class LocalCollectiveProvider implements CollectiveProvider {

    @Override
    public String name() {
        return "local";
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public <T> List<T> launch(int ranks, Duration timeout, Function<Collective, T> body) {
        LocalGroup group = new LocalGroup(ranks, timeout);
        AtomicReferenceArray<T> results = new AtomicReferenceArray<>(ranks);
        AtomicReferenceArray<Throwable> errors = new AtomicReferenceArray<>(ranks);
        List<Thread> threads = new ArrayList<>();
        CountDownLatch finished = new CountDownLatch(ranks);
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            Thread t = new Thread(() -> {
                try (Collective c = new LocalCollective(group, rank)) {
                    results.set(rank, body.apply(c));
                } catch (Throwable e) {
                    errors.set(rank, e);
                    group.fail(rank, e);
                } finally {
                    finished.countDown();
                }
            }, "rank-" + r);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        try {
            while (!finished.await(50, TimeUnit.MILLISECONDS)) {
                if (firstError(errors) != null) {                  // let the others notice, then give up on them
                    finished.await(2 * timeout.toMillis(), TimeUnit.MILLISECONDS);
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Throwable first = firstError(errors);
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

    /** The root-cause failure: a rank's own error before the others' "aborted" reports. */
    private static Throwable firstError(AtomicReferenceArray<Throwable> errors) {
        Throwable any = null;
        for (int r = 0; r < errors.length(); r++) {
            Throwable e = errors.get(r);
            if (e == null) continue;
            if (!(e instanceof CollectiveException)) return e;
            if (any == null || e.getMessage().contains("timed out")) any = e;
        }
        return any;
    }
}
