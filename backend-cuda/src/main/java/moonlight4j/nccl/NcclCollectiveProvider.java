package moonlight4j.nccl;

import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.RankThreads;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * {@code --dist nccl --ranks N}: N ranks as threads of this JVM, rank r on CUDA device r, collectives by NCCL
 * through JavaCPP's {@code org.bytedeco:cuda} bindings ({@link NcclCollective}). One process: the launcher gets one
 * NCCL unique id ({@code ncclGetUniqueId}) and the N threads create their communicators from it concurrently.
 *
 * <p>Failures, as {@code local}: when a rank's body throws, the group is marked failed and the other ranks' waits
 * abort their communicators ({@code ncclCommAbort}) and throw at their next poll; a rank that hangs makes the others
 * time out; the threads and what happens after a failure are {@link RankThreads}'. A thread blocked inside
 * {@code ncclCommInitRank} (a peer died before joining) cannot be interrupted and is left behind (a daemon thread).
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
        return RankThreads.run("nccl-rank", ranks, timeout, rank -> runRank(group, rank, body));
    }

    /** One rank's thread: join, run the body, close (abort when the group failed); failures go to the group. */
    private static <T> T runRank(NcclGroup group, int rank, Function<Collective, T> body) throws Throwable {
        NcclRank state = null;
        T result;
        try {
            state = new NcclRank(group, rank);
            result = body.apply(new NcclCollective(state));
        } catch (Throwable e) {
            group.fail(rank, e);
            try {
                if (state != null) state.close();
            } catch (Throwable closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        try {
            state.close();
        } catch (Throwable e) {
            group.fail(rank, e);
            throw e;
        }
        return result;
    }
}
