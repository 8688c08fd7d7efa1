package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.Bf16Lanes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Element-wise passes as Java loops over the native memory of dense FLOAT/DOUBLE arrays (nd4j-native): each
 * {@link #BLOCK} of elements is copied into heap scratch arrays (bulk copies; the loops are plain array code the JIT
 * vectorises), computed by a block kernel, rounded to bf16 in the same pass when the result is BF16, and copied
 * back. One pass per op instead of libnd4j's single-threaded op plus a second rounding pass.
 *
 * <p><b>Threads.</b> The elements are cut into tasks of {@link #TASK} at fixed boundaries, run on the common
 * fork-join pool (on the caller's thread below {@link #PARALLEL_MIN} elements). An element's value never depends on
 * the cut, and a reduction ({@link #map}'s accumulator) is summed in element order within a task, the tasks'
 * partial sums then added in task order: the same result on any number of threads.
 *
 * <p>Callers check {@link #applies} and keep the ND4J ops for views and GPU arrays.
 */
final class HostKernels {

    /** Elements per task: fixed boundaries for the parallel split and the partial sums. */
    static final int TASK = 1 << 15;
    /** Below this many elements everything runs on the caller's thread (a fork-join costs more than it saves). */
    static final int PARALLEL_MIN = 1 << 16;
    /** Elements per pass through the heap scratch arrays (a few KB per operand: stays in L1/L2). */
    private static final int BLOCK = 1 << 11;
    /** Scratch arrays per thread, enough for the widest kernel (swigluBackward: dg, du, g, u, dh). */
    private static final int SLOTS = 5;

    /**
     * System property: {@code false} keeps the host passes off the Vector API where it is available (for
     * side-by-side measurements in one build: the bits are the same either way).
     */
    static final String VECTOR_PROPERTY = "moonlight.nd4j.vector";

    /**
     * Whether the host passes use the Vector API: bf16 rounding lane by lane ({@link Bf16Lanes}) and the F32 Adam
     * update ({@link VectorUpdates}). True when the JVM was started with {@code --add-modules jdk.incubator.vector}
     * (the {@code moonlight} launcher and the test runs are), a vector holds at least 4 doubles, and
     * {@value #VECTOR_PROPERTY} is not {@code false}.
     */
    static final boolean VECTOR = !"false".equals(System.getProperty(VECTOR_PROPERTY))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() && VectorUpdates.lanes() >= 4;

    private HostKernels() {
    }

    /** A kernel over one block of floats: {@code s[k][0, len)} hold the operands; returns the updated {@code acc}. */
    @FunctionalInterface
    interface FloatBlock {
        float run(float[][] s, int len, float acc);
    }

    /** {@link FloatBlock} in fp64. */
    @FunctionalInterface
    interface DoubleBlock {
        double run(double[][] s, int len, double acc);
    }

    /**
     * True when every array is a non-empty FLOAT or DOUBLE array on the host covering its whole buffer
     * ({@link HostArrays#coversItsBuffer}).
     */
    static boolean applies(INDArray... xs) {
        if (DeviceInfo.cuda()) return false;
        for (INDArray x : xs) {
            DataType t = x.dataType();
            if ((t != DataType.FLOAT && t != DataType.DOUBLE) || x.length() == 0 || !HostArrays.coversItsBuffer(x)) {
                return false;
            }
        }
        return true;
    }

    /**
     * A fresh array for a host pass to fill, from {@link NativeMemory#uninitialized} (its elements are garbage: the
     * pass must write every one), or null, the buffer given back, when it is not one {@link #applies} to.
     */
    static INDArray fresh(DataType type, long[] shape) {
        INDArray r = NativeMemory.uninitialized(type, shape);
        if (applies(r)) return r;
        NativeMemory.discard(r);
        return null;
    }

    /**
     * Runs {@code f} (FLOAT outputs) or {@code d} (DOUBLE outputs) over arrays of one length: scratch slot k holds
     * {@code outs[k]} (read first when {@code readOuts}), then {@code ins} in order, each converted to the outputs'
     * precision (a DOUBLE input narrowed to float, a FLOAT one widened); after the kernel the outputs are rounded to
     * bf16 when {@code bf16} and written back. Returns the accumulator (see the class comment), 0 to start. With no
     * outputs (a reduction) the first input sets the precision.
     */
    static double map(INDArray[] outs, boolean readOuts, INDArray[] ins, boolean bf16, FloatBlock f, DoubleBlock d) {
        INDArray first = outs.length > 0 ? outs[0] : ins[0];
        int n = Math.toIntExact(first.length());
        boolean fp32 = first.dataType() == DataType.FLOAT;
        Buf[] o = bufs(outs), in = bufs(ins);
        int tasks = (n + TASK - 1) / TASK;
        double[] partial = new double[tasks];
        run(n, tasks, t -> {
            Scratch s = Scratch.get();
            int end = Math.min(n, (t + 1) * TASK);
            float accF = 0;
            double accD = 0;
            for (int from = t * TASK; from < end; from += BLOCK) {
                int len = Math.min(BLOCK, end - from);
                if (fp32) {
                    if (readOuts) for (int k = 0; k < o.length; k++) o[k].read(from, s.f[k], len, s);
                    for (int k = 0; k < in.length; k++) in[k].read(from, s.f[o.length + k], len, s);
                    accF = f.run(s.f, len, accF);
                    for (int k = 0; k < o.length; k++) write(o[k], from, s.f[k], len, bf16, s);
                } else {
                    if (readOuts) for (int k = 0; k < o.length; k++) o[k].read(from, s.d[k], len, s);
                    for (int k = 0; k < in.length; k++) in[k].read(from, s.d[o.length + k], len, s);
                    accD = d.run(s.d, len, accD);
                    for (int k = 0; k < o.length; k++) o[k].write(from, s.d[k], len);
                }
            }
            partial[t] = fp32 ? accF : accD;
        });
        if (fp32) {
            float acc = 0;
            for (double p : partial) acc += (float) p;
            return acc;
        }
        double acc = 0;
        for (double p : partial) acc += p;
        return acc;
    }

    /**
     * {@code out = a ∘ b} with numpy broadcasting: scratch slot 0 is the output, 1 and 2 the operands' elements
     * for the same output positions. {@code so} is out's shape, {@code sa}/{@code sb} the operands' shapes (each
     * dimension equal to out's or 1). The output is walked in rows of its last dimension; an operand broadcast
     * along the row is a constant filled into its slot, otherwise a slice of its row.
     */
    static void broadcast(INDArray out, int[] so, INDArray a, int[] sa, INDArray b, int[] sb, boolean bf16,
                          FloatBlock f, DoubleBlock d) {
        if (Arrays.equals(sa, so) && Arrays.equals(sb, so)) {
            map(new INDArray[]{out}, false, new INDArray[]{a, b}, bf16, f, d);
            return;
        }
        int n = Math.toIntExact(out.length());
        int r = so.length, inner = so[r - 1];
        int[] ta = strides(sa, so), tb = strides(sb, so);
        boolean fp32 = out.dataType() == DataType.FLOAT;
        Buf o = new Buf(out), ba = new Buf(a), bb = new Buf(b);
        run(n, (n + TASK - 1) / TASK, t -> {
            Scratch s = Scratch.get();
            int end = Math.min(n, (t + 1) * TASK);
            for (int from = t * TASK; from < end; ) {
                int row = from / inner, col = from % inner;
                int len = Math.min(BLOCK, Math.min(inner - col, end - from));
                int offA = offset(row, so, ta) + col * ta[r - 1], offB = offset(row, so, tb) + col * tb[r - 1];
                if (fp32) {
                    ba.readOrFill(offA, ta[r - 1] == 1, s.f[1], len, s);
                    bb.readOrFill(offB, tb[r - 1] == 1, s.f[2], len, s);
                    f.run(s.f, len, 0);
                    write(o, from, s.f[0], len, bf16, s);
                } else {
                    ba.readOrFill(offA, ta[r - 1] == 1, s.d[1], len, s);
                    bb.readOrFill(offB, tb[r - 1] == 1, s.d[2], len, s);
                    d.run(s.d, len, 0);
                    o.write(from, s.d[0], len);
                }
                from += len;
            }
        });
    }

    /**
     * A kernel's output block {@code v[0, len)} written to {@code o} at {@code from}, rounded to bf16 when asked: on
     * the heap block before the write where {@link #VECTOR}, else after it, on the written bits ({@link #roundBf16Bits}).
     */
    private static void write(Buf o, int from, float[] v, int len, boolean bf16, Scratch s) {
        if (bf16 && VECTOR) Bf16Lanes.roundInPlace(v, 0, len);
        o.write(from, v, len);
        if (bf16 && !VECTOR) o.roundBf16(from, len, s);
    }

    /** {@link Bf16#roundInPlace} on {@code a[0, len)}, lane by lane where {@link #VECTOR} (the same bits). */
    static void roundBf16(float[] a, int len) {
        if (VECTOR) Bf16Lanes.roundInPlace(a, 0, len);
        else Bf16.roundInPlace(a, 0, len);
    }

    /**
     * {@code x[from, from + len)} rounded to bf16 on the caller's thread, a block at a time through its scratch:
     * a batched product's entry right after BLAS wrote it, while it is still in cache.
     */
    static void roundBf16(FloatBuffer x, int from, int len) {
        float[] v = Scratch.get().convF;
        for (int o = 0; o < len; o += BLOCK) {
            int l = Math.min(BLOCK, len - o);
            x.get(from + o, v, 0, l);
            roundBf16(v, l);
            x.put(from + o, v, 0, l);
        }
    }

    /**
     * The fp32 bit patterns {@code b[0, len)} rounded to bf16 as {@link Bf16#round}: a block without NaN (checked by a
     * max over |bits|) takes the branch-free formula {@code (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000}, which the
     * JIT vectorises on int arrays (as {@link HostBits#roundToBf16}; the same loops over float bits through
     * {@code Float.floatToRawIntBits} are not vectorised and measured slower than the op itself); a block with a NaN
     * goes element by element.
     */
    static void roundBf16Bits(int[] b, int len) {
        int maxAbs = 0;
        for (int i = 0; i < len; i++) maxAbs = Math.max(maxAbs, b[i] & 0x7fffffff);
        if (maxAbs > 0x7f800000) {
            for (int i = 0; i < len; i++) b[i] = Float.floatToRawIntBits(Bf16.round(Float.intBitsToFloat(b[i])));
            return;
        }
        for (int i = 0; i < len; i++) b[i] = (b[i] + 0x7fff + ((b[i] >>> 16) & 1)) & 0xffff0000;
    }

    /** Strides of {@code in} (c order) aligned to {@code out}'s dimensions, 0 where {@code in} is broadcast. */
    private static int[] strides(int[] in, int[] out) {
        int[] res = new int[out.length];
        int off = out.length - in.length, st = 1;
        for (int k = in.length - 1; k >= 0; k--) {
            res[k + off] = in[k] == 1 ? 0 : st;
            st *= in[k];
        }
        return res;
    }

    /** Offset of the start of output row {@code row} (all dimensions but the last) in an operand with strides st. */
    private static int offset(int row, int[] so, int[] st) {
        int off = 0;
        for (int k = so.length - 2; k >= 0; k--) {
            off += (row % so[k]) * st[k];
            row /= so[k];
        }
        return off;
    }

    /** Runs tasks 0..tasks−1: in parallel on the common pool when there are enough elements. */
    private static void run(int n, int tasks, java.util.function.IntConsumer task) {
        if (n < PARALLEL_MIN || tasks == 1) {
            for (int t = 0; t < tasks; t++) task.accept(t);
        } else {
            IntStream.range(0, tasks).parallel().forEach(task);
        }
    }

    private static Buf[] bufs(INDArray[] xs) {
        Buf[] b = new Buf[xs.length];
        for (int i = 0; i < xs.length; i++) b[i] = new Buf(xs[i]);
        return b;
    }

    /** Per-thread heap scratch: operand slots in both precisions and one conversion buffer of each. */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);
        final float[][] f = new float[SLOTS][BLOCK];
        final double[][] d = new double[SLOTS][BLOCK];
        final float[] convF = new float[BLOCK];
        final double[] convD = new double[BLOCK];
        final int[] bits = new int[BLOCK];

        static Scratch get() {
            return LOCAL.get();
        }
    }

    /** An array's native memory as a FloatBuffer or DoubleBuffer; absolute bulk copies only (thread-safe). */
    private static final class Buf {
        private final FloatBuffer fb;
        private final IntBuffer ib;
        private final DoubleBuffer db;

        Buf(INDArray x) {
            var nio = x.data().asNio().order(ByteOrder.nativeOrder());
            boolean isFloat = x.dataType() == DataType.FLOAT;
            fb = isFloat ? nio.asFloatBuffer() : null;
            ib = isFloat ? nio.asIntBuffer() : null;
            db = isFloat ? null : nio.asDoubleBuffer();
        }

        /** Rounds the FLOAT elements {@code [from, from + len)}, just written, to bf16 (read back as bits). */
        void roundBf16(int from, int len, Scratch s) {
            ib.get(from, s.bits, 0, len);
            roundBf16Bits(s.bits, len);
            ib.put(from, s.bits, 0, len);
        }

        /** {@code dst[0, len) = x[from, from + len)}, a DOUBLE array narrowed to float. */
        void read(int from, float[] dst, int len, Scratch s) {
            if (fb != null) {
                fb.get(from, dst, 0, len);
            } else {
                db.get(from, s.convD, 0, len);
                for (int i = 0; i < len; i++) dst[i] = (float) s.convD[i];
            }
        }

        /** {@code dst[0, len) = x[from, from + len)}, a FLOAT array widened to double. */
        void read(int from, double[] dst, int len, Scratch s) {
            if (db != null) {
                db.get(from, dst, 0, len);
            } else {
                fb.get(from, s.convF, 0, len);
                for (int i = 0; i < len; i++) dst[i] = s.convF[i];
            }
        }

        /** A slice of the array, or (when {@code !slice}) its element at {@code from} repeated. */
        void readOrFill(int from, boolean slice, float[] dst, int len, Scratch s) {
            if (slice) read(from, dst, len, s);
            else Arrays.fill(dst, 0, len, fb != null ? fb.get(from) : (float) db.get(from));
        }

        void readOrFill(int from, boolean slice, double[] dst, int len, Scratch s) {
            if (slice) read(from, dst, len, s);
            else Arrays.fill(dst, 0, len, db != null ? db.get(from) : fb.get(from));
        }

        void write(int from, float[] src, int len) {
            fb.put(from, src, 0, len);
        }

        void write(int from, double[] src, int len) {
            db.put(from, src, 0, len);
        }
    }
}
