package moonlight4j.dist;

import moonlight4j.api.Bf16;
import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.Shapes;
import moonlight4j.api.TrafficCounter;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.time.Duration;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One process's rank in {@code MPI_COMM_WORLD}, calling {@code libmpi.so.40} through downcall handles. Payloads are
 * copied into native segments, the MPI call runs, results are copied back. BF16 reductions widen to fp32
 * ({@code MPI_FLOAT} sum) and round once, as the SPI defines; Open MPI picks its own summation order (the same on
 * every rank; for 2 ranks a + b is order-free).
 *
 * <p>Hangs: MPI calls block without a timeout, so a watchdog thread checks the call in progress; past
 * {@link #timeout()} it prints which collective on which rank timed out and halts this process, after which
 * {@code mpirun} ends the remaining ranks. A rank that dies is detected by {@code mpirun} itself, which aborts the job.
 */
final class MpiCollective implements Collective {

    private static final MemorySegment IN_PLACE = MemorySegment.ofAddress(1);   // Open MPI: MPI_IN_PLACE = (void*) 1

    private final Duration timeout;
    private final MemorySegment comm, f32, i16, i64, sum, max;
    private final MethodHandle allreduce, reduceScatterBlock, allgather, bcast, barrierH, finalizeH;
    private final int rank, size;
    private final TrafficCounter traffic;
    private volatile String inFlight;              // the collective in progress, for the watchdog
    private volatile long deadline;
    private long seq;
    private boolean closed;

    MpiCollective(SymbolLookup lib, Duration timeout) {
        this.timeout = timeout;
        Linker linker = Linker.nativeLinker();
        comm = symbol(lib, "ompi_mpi_comm_world");
        f32 = symbol(lib, "ompi_mpi_float");
        i16 = symbol(lib, "ompi_mpi_short");
        i64 = symbol(lib, "ompi_mpi_long_long_int");
        sum = symbol(lib, "ompi_mpi_op_sum");
        max = symbol(lib, "ompi_mpi_op_max");
        MethodHandle initialized = handle(linker, lib, "MPI_Initialized", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle init = handle(linker, lib, "MPI_Init", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle commRank = handle(linker, lib, "MPI_Comm_rank", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle commSize = handle(linker, lib, "MPI_Comm_size", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        allreduce = handle(linker, lib, "MPI_Allreduce",          // (sendbuf, recvbuf, count, type, op, comm)
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        reduceScatterBlock = handle(linker, lib, "MPI_Reduce_scatter_block",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        allgather = handle(linker, lib, "MPI_Allgather",          // (sbuf, scount, stype, rbuf, rcount, rtype, comm)
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        bcast = handle(linker, lib, "MPI_Bcast",                  // (buf, count, type, root, comm)
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        barrierH = handle(linker, lib, "MPI_Barrier", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        finalizeH = handle(linker, lib, "MPI_Finalize", FunctionDescriptor.of(JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment flag = a.allocate(JAVA_INT);
            check("MPI_Initialized", (int) initialized.invokeExact(flag));
            if (flag.get(JAVA_INT, 0) == 0) {
                check("MPI_Init", (int) init.invokeExact(MemorySegment.NULL, MemorySegment.NULL));
            }
            MemorySegment out = a.allocate(JAVA_INT);
            check("MPI_Comm_rank", (int) commRank.invokeExact(comm, out));
            rank = out.get(JAVA_INT, 0);
            check("MPI_Comm_size", (int) commSize.invokeExact(comm, out));
            size = out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw wrap("MPI_Init", t);
        }
        traffic = new TrafficCounter(size);
        Thread watchdog = new Thread(this::watch, "mpi-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    @Override public String engine() { return "mpi"; }
    @Override public int rank() { return rank; }
    @Override public int worldSize() { return size; }
    @Override public Duration timeout() { return timeout; }
    @Override public Traffic traffic() { return traffic.snapshot(); }

    @Override
    public void allReduce(float[] buf, ReduceOp op) {
        long t0 = begin("allReduce(F32 " + buf.length + ", " + op + ")");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_FLOAT, buf);
            check("MPI_Allreduce", (int) allreduce.invokeExact(IN_PLACE, s, buf.length, f32, op(op), comm));
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, buf, 0, buf.length);
        } catch (Throwable t) {
            throw wrap("allReduce", t);
        } finally {
            end();
        }
        if (op == ReduceOp.MEAN) for (int i = 0; i < buf.length; i++) buf[i] /= size;
        traffic.allReduce(4L * buf.length, System.nanoTime() - t0);
    }

    @Override
    public void allReduceBf16(short[] buf, ReduceOp op) {
        float[] wide = Bf16.widen(buf);
        allReduce(wide, op);
        Bf16.roundInto(wide, buf);
    }

    @Override
    public void reduceScatter(float[] send, float[] recv, ReduceOp op) {
        Shapes.checkReduceScatter(size, send.length, recv.length);
        long t0 = begin("reduceScatter(F32 " + send.length + ", " + op + ")");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_FLOAT, send);
            MemorySegment r = a.allocate(ValueLayout.JAVA_FLOAT, Math.max(1, recv.length));
            check("MPI_Reduce_scatter_block",
                    (int) reduceScatterBlock.invokeExact(s, r, recv.length, f32, op(op), comm));
            MemorySegment.copy(r, ValueLayout.JAVA_FLOAT, 0, recv, 0, recv.length);
        } catch (Throwable t) {
            throw wrap("reduceScatter", t);
        } finally {
            end();
        }
        if (op == ReduceOp.MEAN) for (int i = 0; i < recv.length; i++) recv[i] /= size;
        traffic.reduceScatter(4L * send.length, System.nanoTime() - t0);
    }

    @Override
    public void reduceScatterBf16(short[] send, short[] recv, ReduceOp op) {
        float[] out = new float[recv.length];
        reduceScatter(Bf16.widen(send), out, op);
        Bf16.roundInto(out, recv);
    }

    @Override
    public void allGather(float[] send, float[] recv) {
        Shapes.checkAllGather(size, send.length, recv.length);
        long t0 = begin("allGather(F32 " + send.length + ")");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_FLOAT, send);
            MemorySegment r = a.allocate(ValueLayout.JAVA_FLOAT, Math.max(1, recv.length));
            check("MPI_Allgather", (int) allgather.invokeExact(s, send.length, f32, r, send.length, f32, comm));
            MemorySegment.copy(r, ValueLayout.JAVA_FLOAT, 0, recv, 0, recv.length);
        } catch (Throwable t) {
            throw wrap("allGather", t);
        } finally {
            end();
        }
        traffic.allGather(4L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void allGatherBf16(short[] send, short[] recv) {
        Shapes.checkAllGather(size, send.length, recv.length);
        long t0 = begin("allGather(BF16 " + send.length + ")");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_SHORT, send);
            MemorySegment r = a.allocate(ValueLayout.JAVA_SHORT, Math.max(1, recv.length));
            check("MPI_Allgather", (int) allgather.invokeExact(s, send.length, i16, r, send.length, i16, comm));
            MemorySegment.copy(r, ValueLayout.JAVA_SHORT, 0, recv, 0, recv.length);
        } catch (Throwable t) {
            throw wrap("allGather", t);
        } finally {
            end();
        }
        traffic.allGather(2L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void allGatherLongs(long[] send, long[] recv) {
        Shapes.checkAllGather(size, send.length, recv.length);
        long t0 = begin("allGather(I64 " + send.length + ")");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_LONG, send);
            MemorySegment r = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, recv.length));
            check("MPI_Allgather", (int) allgather.invokeExact(s, send.length, i64, r, send.length, i64, comm));
            MemorySegment.copy(r, ValueLayout.JAVA_LONG, 0, recv, 0, recv.length);
        } catch (Throwable t) {
            throw wrap("allGather", t);
        } finally {
            end();
        }
        traffic.allGather(8L * recv.length, System.nanoTime() - t0);
    }

    @Override
    public void broadcast(float[] buf, int root) {
        long t0 = begin("broadcast(F32 " + buf.length + ", root " + root + ")");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_FLOAT, buf);
            check("MPI_Bcast", (int) bcast.invokeExact(s, buf.length, f32, root, comm));
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, buf, 0, buf.length);
        } catch (Throwable t) {
            throw wrap("broadcast", t);
        } finally {
            end();
        }
        traffic.broadcast(4L * buf.length, rank == root, System.nanoTime() - t0);
    }

    @Override
    public void barrier() {
        long t0 = begin("barrier");
        try {
            check("MPI_Barrier", (int) barrierH.invokeExact(comm));
        } catch (Throwable t) {
            throw wrap("barrier", t);
        } finally {
            end();
        }
        traffic.other(System.nanoTime() - t0);
    }

    /** {@code MPI_Finalize} (collective: every rank must reach it). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        begin("MPI_Finalize");
        try {
            check("MPI_Finalize", (int) finalizeH.invokeExact());
        } catch (Throwable t) {
            throw wrap("MPI_Finalize", t);
        } finally {
            end();
        }
    }

    private MemorySegment op(ReduceOp op) {
        return op == ReduceOp.MAX ? max : sum;
    }

    private long begin(String what) {
        if (closed && !what.equals("MPI_Finalize")) {
            throw new CollectiveException("mpi rank " + rank + ": " + what + " after MPI_Finalize");
        }
        seq++;
        deadline = System.nanoTime() + timeout.toNanos();
        inFlight = what;
        return System.nanoTime();
    }

    private void end() {
        inFlight = null;
    }

    /** The watchdog: a collective past its deadline means a dead or hung peer; say so and end this process. */
    private void watch() {
        while (true) {
            try {
                Thread.sleep(Math.max(10, Math.min(1000, timeout.toMillis() / 10)));
            } catch (InterruptedException e) {
                return;
            }
            String op = inFlight;
            if (op != null && System.nanoTime() - deadline > 0) {
                System.err.println("mpi rank " + rank + " of " + size + ": " + op + " (collective #" + seq
                        + ") timed out after " + timeout.toMillis() + " ms: a peer rank is dead, hung or called a "
                        + "different collective; ending this rank (exit 3) so mpirun stops the job");
                System.err.flush();
                Runtime.getRuntime().halt(3);
            }
        }
    }


    private static MemorySegment symbol(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException(
                "symbol " + name + " not found in " + MpiBinding.LIBRARY + " (expected Open MPI 4.x)"));
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name, FunctionDescriptor fd) {
        return linker.downcallHandle(symbol(lib, name), fd);
    }

    private void check(String call, int rc) {
        if (rc != 0) throw new CollectiveException("mpi rank " + rank + ": " + call + " returned error code " + rc);
    }

    private CollectiveException wrap(String what, Throwable t) {
        if (t instanceof CollectiveException ce) return ce;
        return new CollectiveException("mpi rank " + rank + ": " + what + " failed: " + t, t);
    }
}
