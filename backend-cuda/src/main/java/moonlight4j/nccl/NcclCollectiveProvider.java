package moonlight4j.nccl;

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
 * {@code --dist nccl --ranks N}: N ranks as threads of this JVM, rank r on CUDA device r, collectives by NCCL
 * through JavaCPP's {@code org.bytedeco:cuda} bindings ({@link NcclCollective}). One process: the launcher gets one
 * NCCL unique id ({@code ncclGetUniqueId}) and the N threads create their communicators from it concurrently.
 *
 * <p>Failures, as {@code local}: when a rank's body throws, the group is marked failed and the other ranks' waits
 * abort their communicators ({@code ncclCommAbort}) and throw at their next poll; a rank that hangs makes the others
 * time out. After the first failure the launcher waits at most two more timeouts for the remaining threads, then
 * interrupts them and rethrows the root-cause failure. A thread blocked inside {@code ncclCommInitRank} (a peer died
 * before joining) cannot be interrupted and is left behind (a daemon thread).
 */
public final class NcclCollectiveProvider implements CollectiveProvider {

    @Override
    public String name() {
        return "nccl";
    }

    /** Loads the CUDA runtime and NCCL natives once and counts devices ({@link NcclNatives}); never throws. */
    @Override
    public String unavailableReason() {
        try {
            return NcclNatives.unavailableReason();
        } catch (Throwable t) {
            return NcclNatives.NEEDS + "; " + t;
        }
    }

    @Override
    public <T> List<T> launch(int ranks, Duration timeout, Function<Collective, T> body) {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("--dist nccl cannot run here: " + why);
        int devices = NcclNatives.deviceCount();
        if (ranks < 1 || ranks > devices) {
            throw new IllegalArgumentException("--dist nccl runs one rank per GPU: --ranks must be between 1 and the "
                    + devices + " CUDA device(s) here, got " + ranks);
        }
        NcclGroup group;
        try {
            group = new NcclGroup(ranks, timeout);
        } catch (NcclNatives.NcclCallException e) {
            throw new CollectiveException("nccl: " + e.getMessage(), e);
        }
        AtomicReferenceArray<T> results = new AtomicReferenceArray<>(ranks);
        AtomicReferenceArray<Throwable> errors = new AtomicReferenceArray<>(ranks);
        CountDownLatch finished = new CountDownLatch(ranks);
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            Thread t = new Thread(() -> runRank(group, rank, body, results, errors, finished), "nccl-rank-" + r);
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

    /** One rank's thread: join, run the body, close (abort when the group failed); failures go to the group. */
    private static <T> void runRank(NcclGroup group, int rank, Function<Collective, T> body,
                                    AtomicReferenceArray<T> results, AtomicReferenceArray<Throwable> errors,
                                    CountDownLatch finished) {
        NcclRank state = null;
        try {
            state = new NcclRank(group, rank);
            results.set(rank, body.apply(new NcclCollective(state)));
        } catch (Throwable e) {
            errors.set(rank, e);
            group.fail(rank, e);
        }
        try {
            if (state != null) state.close();
        } catch (Throwable e) {
            if (errors.get(rank) == null) errors.set(rank, e);
            group.fail(rank, e);
        } finally {
            finished.countDown();
        }
    }

    /**
     * The root-cause failure: a rank's own error (not a {@link CollectiveException}) first, then a collective that
     * failed by itself (timed out, mismatch, NCCL error) before the others' "aborted" reports.
     */
    private static Throwable firstError(AtomicReferenceArray<Throwable> errors) {
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
