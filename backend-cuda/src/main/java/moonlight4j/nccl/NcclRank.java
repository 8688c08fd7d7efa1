package moonlight4j.nccl;

import moonlight4j.api.CollectiveException;
import moonlight4j.nccl.NcclNatives.NcclCallException;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.nccl.ncclComm;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import static moonlight4j.nccl.NcclNatives.cuda;
import static moonlight4j.nccl.NcclNatives.cudaError;
import static moonlight4j.nccl.NcclNatives.nccl;
import static moonlight4j.nccl.NcclNatives.ncclError;
import static org.bytedeco.cuda.global.cudart.cudaErrorNotReady;
import static org.bytedeco.cuda.global.cudart.cudaGetDevice;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamQuery;
import static org.bytedeco.cuda.global.cudart.cudaSuccess;
import static org.bytedeco.cuda.global.nccl.ncclCommAbort;
import static org.bytedeco.cuda.global.nccl.ncclCommDestroy;
import static org.bytedeco.cuda.global.nccl.ncclCommGetAsyncError;
import static org.bytedeco.cuda.global.nccl.ncclCommInitRank;
import static org.bytedeco.cuda.global.nccl.ncclSuccess;

/**
 * The CUDA and NCCL state of one rank: device {@code rank}, its communicator, a non-blocking stream and the
 * {@link Staging} buffers; and the bounded wait every collective ends with.
 *
 * <p>Waiting: NCCL kernels spin until their peers' data arrives and NCCL 2.11 has no timeout of its own, so after
 * enqueueing, {@link #await} polls {@code cudaStreamQuery} (spinning briefly, then sleeping up to 0.2 ms between
 * polls) and on each poll also checks {@code ncclCommGetAsyncError}, the group's failure flag and the thread's
 * interrupt. Past {@link NcclGroup#timeout} it marks the group failed, calls {@code ncclCommAbort} (which makes the
 * spinning kernels return) and throws {@link CollectiveException}; the other ranks see the failure flag at their
 * next poll and abort too.
 */
final class NcclRank {

    final NcclGroup group;
    final int rank;
    final int n;
    final ncclComm comm = new ncclComm();
    final CUstream_st stream = new CUstream_st();
    private final Staging staging;
    private final int[] asyncError = new int[1];
    private final int[] current = new int[1];
    private long seq;                          // collectives entered
    private boolean closed;
    private boolean aborted;

    /**
     * Joins the group as {@code rank}: {@code cudaSetDevice(rank)}, {@code ncclCommInitRank} (blocks until all N
     * ranks have called it, so the N rank threads must call it concurrently) and {@code cudaStreamCreateWithFlags}.
     */
    NcclRank(NcclGroup group, int rank) {
        this.group = group;
        this.rank = rank;
        this.n = group.n;
        int previous = -1;
        try {
            previous = enterDevice();
            nccl("ncclCommInitRank(" + n + " ranks, rank " + rank + ")", ncclCommInitRank(comm, n, group.id, rank));
            int rc = cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking);
            if (rc != cudaSuccess) {
                ncclCommDestroy(comm);
                throw new NcclCallException("cudaStreamCreateWithFlags returned " + cudaError(rc));
            }
        } catch (NcclCallException e) {
            throw error("joining the group on device " + rank, "failed: " + e.getMessage(), e);
        } finally {
            leaveDevice(previous);
        }
        staging = new Staging(stream);
    }

    /**
     * One collective: checks that the rank may still call one, records its signature with the group (mismatch
     * check), makes the rank's device current, sizes the buffers to {@code bytes}, {@code enqueue}s copies and the
     * NCCL call on the stream, waits, {@code collect}s the result from pinned host memory and makes the thread's
     * previous device current again (ND4J binds threads to devices of its choosing; the collective leaves that
     * binding as it found it). A zero-byte payload has nothing to move and returns after the checks.
     */
    void run(String what, long bytes, long t0, Consumer<Staging> enqueue, Consumer<Staging> collect) {
        if (closed) throw error(what, "on a closed collective", null);
        if (aborted) throw error(what, "after this rank's communicator was aborted by an earlier failure", null);
        String failure = group.failure();
        if (failure != null) throw error(what, "aborted: " + failure, null);
        seq++;
        group.record(rank, seq, what);
        if (bytes == 0) return;
        int previous = -1;
        try {
            try {
                previous = enterDevice();
                staging.ensure(bytes);
                enqueue.accept(staging);
            } catch (NcclCallException e) {
                throw fail(error(what, "failed: " + e.getMessage(), e));
            }
            await(what, t0);
            collect.accept(staging);
        } finally {
            leaveDevice(previous);
        }
    }

    /** {@code cudaGetDevice}, then {@code cudaSetDevice(rank)}; returns the device that was current. */
    private int enterDevice() {
        cuda("cudaGetDevice", cudaGetDevice(current));
        int previous = current[0];
        if (previous != rank) cuda("cudaSetDevice(" + rank + ")", cudaSetDevice(rank));
        return previous;
    }

    /** Makes {@code previous} current again (none: -1); its status is not checked, the call's outcome stands. */
    private void leaveDevice(int previous) {
        if (previous >= 0 && previous != rank) cudaSetDevice(previous);
    }

    /** Polls the stream until the enqueued work is done, or fails the rank (see the class comment). */
    private void await(String what, long t0) {
        long deadline = t0 + group.timeout.toNanos();
        for (int i = 0; ; i++) {
            int rc = cudaStreamQuery(stream);
            if (rc == cudaSuccess) return;
            String why = null;
            String failure;
            int query;
            if (rc != cudaErrorNotReady) {
                why = "failed: cudaStreamQuery returned " + cudaError(rc);
            } else if ((query = ncclCommGetAsyncError(comm, asyncError)) != ncclSuccess) {
                why = "failed: ncclCommGetAsyncError returned " + ncclError(query);
            } else if (asyncError[0] != ncclSuccess) {
                why = "failed: NCCL reported asynchronous error " + ncclError(asyncError[0]);
            } else if ((failure = group.failure()) != null) {
                abort();
                throw error(what, "aborted: " + failure, null);
            } else if (Thread.currentThread().isInterrupted()) {
                why = "interrupted";
            } else if (System.nanoTime() - deadline > 0) {
                why = "(collective #" + seq + ") timed out after " + seconds(group.timeout) + "; a peer rank is dead,"
                        + " hung or called a different collective";
            }
            if (why != null) throw fail(error(what, why, null));
            if (i < 200) Thread.onSpinWait();
            else LockSupport.parkNanos(i < 2000 ? 10_000 : 200_000);
        }
    }

    /** Marks the group failed by this rank and aborts the communicator; returns {@code e} to throw. */
    private CollectiveException fail(CollectiveException e) {
        group.fail(rank, e);
        abort();
        return e;
    }

    /** {@code ncclCommAbort}: kernels of this communicator return, its resources are freed; it is unusable after. */
    private void abort() {
        if (aborted) return;
        aborted = true;
        ncclCommAbort(comm);                   // its status is of no further use: the rank is failing already
    }

    /**
     * {@code ncclCommDestroy} (or {@code ncclCommAbort} when the group has failed), then frees the buffers and
     * destroys the stream. After an abort the stream is first given up to the timeout to drain; if it does not,
     * the buffers are left allocated rather than freed under a running copy.
     */
    void close() {
        if (closed) return;
        closed = true;
        int previous = -1;
        try {
            previous = enterDevice();
            if (group.failure() != null) abort();
            if (!aborted) nccl("ncclCommDestroy", ncclCommDestroy(comm));
            else if (!drained(group.timeout)) {
                throw error("close", "could not free its buffers: the stream did not drain within "
                        + seconds(group.timeout) + " after ncclCommAbort", null);
            }
            staging.close();
            cuda("cudaStreamDestroy", cudaStreamDestroy(stream));
        } catch (NcclCallException e) {
            throw error("close", "failed: " + e.getMessage(), e);
        } finally {
            leaveDevice(previous);
        }
    }

    private boolean drained(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (cudaStreamQuery(stream) == cudaErrorNotReady) {
            if (System.nanoTime() - deadline > 0) return false;
            LockSupport.parkNanos(1_000_000);
        }
        return true;
    }

    private CollectiveException error(String what, String why, Throwable cause) {
        return new CollectiveException("nccl rank " + rank + ": " + what + " " + why, cause);
    }

    /** "2 s", "0.5 s". */
    static String seconds(Duration d) {
        long ms = d.toMillis();
        return (ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.valueOf(ms / 1000.0)) + " s";
    }
}
