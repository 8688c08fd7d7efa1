package moonlight4j.nccl;

import moonlight4j.api.CollectiveException;
import org.bytedeco.cuda.nccl.ncclUniqueId;

import java.time.Duration;

import static org.bytedeco.cuda.global.nccl.ncclGetUniqueId;

/**
 * What the N rank threads of one {@code nccl} launch share: the NCCL unique id their communicators are created from,
 * the timeout, the first failure (a rank that fails marks it, the others see it in their wait loop and abort their
 * communicator at once instead of waiting out the timeout), and the last {@link #HISTORY} collective signatures of
 * every rank.
 *
 * <p>NCCL itself does not check that ranks call the same collective with the same size (a mismatch hangs or
 * reads garbage), so each rank records {@code (seq, op and sizes)} here before it enqueues, and compares with the
 * other ranks' record for the same seq; whichever of two mismatched ranks records second fails the group with both
 * calls named, as the {@code local} engine does. Best effort: a rank more than {@link #HISTORY} calls ahead (possible
 * only for a root that finishes broadcasts before the receivers start) is not compared.
 */
final class NcclGroup {

    static final int HISTORY = 64;

    final int n;
    final Duration timeout;
    final ncclUniqueId id = new ncclUniqueId();
    private final long[][] seqs;                 // [rank][seq % HISTORY]
    private final String[][] ops;
    private volatile String failure;

    NcclGroup(int n, Duration timeout) {
        this.n = n;
        this.timeout = timeout;
        this.seqs = new long[n][HISTORY];
        this.ops = new String[n][HISTORY];
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

    /**
     * Records that {@code rank} enters collective number {@code seq} (from 1) as {@code op}; throws
     * {@link CollectiveException} (and fails the group) when another rank recorded a different call for that seq.
     */
    synchronized void record(int rank, long seq, String op) {
        int slot = (int) (seq % HISTORY);
        seqs[rank][slot] = seq;
        ops[rank][slot] = op;
        for (int r = 0; r < n; r++) {
            if (r != rank && seqs[r][slot] == seq && !ops[r][slot].equals(op)) {
                String msg = "nccl rank " + rank + ": collective #" + seq + " mismatch: rank " + r + " called "
                        + ops[r][slot] + " but rank " + rank + " called " + op;
                if (failure == null) failure = msg;
                throw new CollectiveException(msg);
            }
        }
    }
}
