package moonlight4j.nccl;

import moonlight4j.api.CollectiveException;
import org.bytedeco.cuda.nccl.ncclUniqueId;

import java.time.Duration;

import static org.bytedeco.cuda.global.nccl.ncclGetUniqueId;

/**
 * What the N rank threads of one {@code nccl} launch share: the NCCL unique id their communicators are created from,
 * the timeout, the first failure (a rank that fails marks it; the others see it in their wait loop and abort their
 * communicator at once instead of waiting out the timeout) and the {@link CallLog} of signatures.
 */
final class NcclGroup {

    final int n;
    final Duration timeout;
    final ncclUniqueId id = new ncclUniqueId();
    private final CallLog log;
    private volatile String failure;

    NcclGroup(int n, Duration timeout) {
        this.n = n;
        this.timeout = timeout;
        this.log = new CallLog(n);
        NcclNatives.nccl("ncclGetUniqueId", ncclGetUniqueId(id));
    }

    /** Marks the group failed by {@code rank} (the first failure wins). */
    synchronized void fail(int rank, Throwable t) {
        if (failure == null) failure = "rank " + rank + " failed: " + t;
    }

    /** The first failure, or null. */
    String failure() {
        return failure;
    }

    /** {@link CallLog#record}; a mismatch fails the group and is thrown as {@link CollectiveException}. */
    void record(int rank, long seq, String op) {
        String mismatch = log.record(rank, seq, op);
        if (mismatch == null) return;
        synchronized (this) {
            if (failure == null) failure = mismatch;
        }
        throw new CollectiveException(mismatch);
    }
}
