package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.RmsNormGrads;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * RMSNorm and softmax, forward and backward side by side, as row loops over the native memory of dense arrays
 * (nd4j-native; {@link Layers} keeps the ND4J ops for views and GPU arrays). Each row is read into a double array
 * and computed with the oracle's expressions: {@code cp} rounds to the compute precision (fp32 for F32/BF16) where
 * PyTorch holds an fp32 intermediate, {@code st} to the dtype where an op stores its result, sums in element order.
 * Rows are cut into tasks of about {@link HostKernels#TASK} elements at fixed boundaries, run in parallel for large
 * inputs; rmsNorm's dw (a sum over rows) is summed per task and the tasks' sums added in task order, so results do
 * not depend on the thread count. Letters: N rows (all leading dims), C channels.
 */
final class HostLayers {

    private HostLayers() {
    }

    /** A row kernel over rows {@code [from, to)} of task {@code task}. */
    @FunctionalInterface
    private interface RowTask {
        void run(int task, int from, int to);
    }

    // ------------------------------------------------------------------ RMSNorm (docs/model.md#rmsnorm)

    /**
     * {@code y = w ⊙ cast_x(x · rsqrt(mean(x²) + eps))}: per row {@code r} from the fp32 sum of squares,
     * {@code h = st(cp(x·r))}, {@code y = st(w·h)}. Null when not applicable.
     */
    static Tensor rmsNorm(Nd4jDataOps be, Tensor x, Tensor w, double eps, int[] out) {
        INDArray X = be.arr(x), W = be.arr(w);
        if (!HostKernels.applies(X, W)) return null;
        INDArray Y = fresh(X);
        if (Y == null) return null;
        DType dt = x.dtype();
        int c = Math.toIntExact(w.numel()), n = Math.toIntExact(x.numel() / c);
        Io xi = new Io(X), yi = new Io(Y);
        double[] wv = new Io(W).row(0, c);
        rows(n, c, (task, from, to) -> {
            double[] xr = new double[c], yr = new double[c];
            for (int row = from; row < to; row++) {
                xi.read(row * c, xr);
                double r = rsqrtMeanSquare(dt, xr, eps);
                for (int j = 0; j < c; j++) yr[j] = st(dt, wv[j] * st(dt, cp(dt, xr[j] * r)));
                yi.write(row * c, yr);
            }
        });
        return be.wrap(Y, dt, out);
    }

    /**
     * With {@code r} as the forward's, {@code dn = dy ⊙ w}: {@code dx_j = r·dn_j − r³·x_j·(Σ_i dn_i·x_i)/C},
     * {@code dw_j = Σ_rows dy_j·x_j·r}, in fp64, each rounded once to the dtype. Null when not applicable.
     */
    static RmsNormGrads rmsNormBackward(Nd4jDataOps be, Tensor x, Tensor w, double eps, Tensor dy) {
        INDArray X = be.arr(x), W = be.arr(w), DY = be.arr(dy);
        if (!HostKernels.applies(X, W, DY)) return null;
        INDArray DX = fresh(X), DW = fresh(W);
        if (DX == null || DW == null) {
            if (DX != null) NativeMemory.discard(DX);
            if (DW != null) NativeMemory.discard(DW);
            return null;
        }
        DType dt = x.dtype();
        int c = Math.toIntExact(w.numel()), n = Math.toIntExact(x.numel() / c);
        Io xi = new Io(X), dyi = new Io(DY), dxi = new Io(DX);
        double[] wv = new Io(W).row(0, c);
        int tasks = tasks(n, c);
        double[][] dwPart = new double[tasks][c];
        rows(n, c, (task, from, to) -> {
            double[] xr = new double[c], dyr = new double[c], dxr = new double[c], dwAcc = dwPart[task];
            for (int row = from; row < to; row++) {
                xi.read(row * c, xr);
                dyi.read(row * c, dyr);
                double r = rsqrtMeanSquare(dt, xr, eps);
                double dot = 0;                                            // Σ_i dn_i·x_i
                for (int i = 0; i < c; i++) dot += dyr[i] * wv[i] * xr[i];
                double r3 = r * r * r;
                for (int j = 0; j < c; j++) {
                    dxr[j] = st(dt, r * dyr[j] * wv[j] - r3 * xr[j] * dot / c);
                    dwAcc[j] += dyr[j] * xr[j] * r;
                }
                dxi.write(row * c, dxr);
            }
        });
        double[] dw = new double[c];
        for (double[] part : dwPart) for (int j = 0; j < c; j++) dw[j] += part[j];
        for (int j = 0; j < c; j++) dw[j] = st(dt, dw[j]);
        new Io(DW).write(0, dw);
        return new RmsNormGrads(be.wrap(DX, dt, x.shape()), be.wrap(DW, dt, w.shape()));
    }

    /** {@code rsqrt(cp(cp(Σ cp(x²)) / C) + cp(eps))} at the compute precision, the release's fp32 path. */
    static double rsqrtMeanSquare(DType dt, double[] x, double eps) {
        double ss = dot(dt, x, x);                                     // Σ cp(x_j²), in order
        double var = cp(dt, ss / x.length);
        double ve = cp(dt, var + cp(dt, eps));
        return cp(dt, 1.0 / Math.sqrt(ve));
    }

    // ------------------------------------------------------------------ softmax over the last axis

    /** {@code y = cp(e_j / Σ e)} with {@code e_j = cp(exp(cp(x_j − max)))}, summed in order. Null when not applicable. */
    static Tensor softmax(Nd4jDataOps be, Tensor x) {
        INDArray X = be.arr(x);
        if (!HostKernels.applies(X)) return null;
        INDArray Y = fresh(X);
        if (Y == null) return null;
        DType dt = x.dtype();
        int c = x.dim(-1), n = Math.toIntExact(x.numel() / c);
        Io xi = new Io(X), yi = new Io(Y);
        rows(n, c, (task, from, to) -> {
            double[] xr = new double[c];
            for (int row = from; row < to; row++) {
                xi.read(row * c, xr);
                double m = Double.NEGATIVE_INFINITY;
                for (double v : xr) m = Math.max(m, v);
                double s = expSum(dt, xr, m);
                for (int j = 0; j < c; j++) xr[j] = st(dt, cp(dt, xr[j] / s));
                yi.write(row * c, xr);
            }
        });
        return be.wrap(Y, dt, x.shape());
    }

    /** {@code dx = y ⊙ cp(dy − Σ_c cp(dy·y))}. Null when not applicable. */
    static Tensor softmaxBackward(Nd4jDataOps be, Tensor y, Tensor dy) {
        INDArray Y = be.arr(y), DY = be.arr(dy);
        if (!HostKernels.applies(Y, DY)) return null;
        INDArray DX = fresh(Y);
        if (DX == null) return null;
        DType dt = y.dtype();
        int c = y.dim(-1), n = Math.toIntExact(y.numel() / c);
        Io yi = new Io(Y), dyi = new Io(DY), dxi = new Io(DX);
        rows(n, c, (task, from, to) -> {
            double[] yr = new double[c], dyr = new double[c];
            for (int row = from; row < to; row++) {
                yi.read(row * c, yr);
                dyi.read(row * c, dyr);
                double dot = dot(dt, dyr, yr);
                for (int j = 0; j < c; j++) dyr[j] = st(dt, yr[j] * cp(dt, dyr[j] - dot));
                dxi.write(row * c, dyr);
            }
        });
        return be.wrap(DX, dt, y.shape());
    }

    /**
     * Replaces each {@code x_j} by {@code e_j = cp(exp(cp(x_j − m)))} and returns {@code Σ e_j} summed in order at
     * the compute precision. For F32/BF16 the sum runs in float arithmetic, the same bits as a double chain rounded
     * at every step (see {@link #dot}).
     */
    static double expSum(DType dt, double[] x, double m) {
        if (dt == DType.F64) {
            double s = 0;
            for (int j = 0; j < x.length; j++) {
                x[j] = Math.exp(x[j] - m);
                s = s + x[j];
            }
            return s;
        }
        float s = 0f;
        for (int j = 0; j < x.length; j++) {
            float e = (float) Math.exp((float) (x[j] - m));
            x[j] = e;
            s = s + e;
        }
        return s;
    }

    /**
     * {@code Σ cp(a_j·b_j)} summed in order at the compute precision. For F32/BF16 the sum runs in float arithmetic:
     * a and b hold floats, so {@code a_j·b_j} is exact in double and the float product is its rounding, and a double
     * sum of two floats rounded to float is the float sum (double has more than 2·24 + 2 bits); the same bits as
     * rounding a double chain at every step, without two conversions on the chain's critical path.
     */
    static double dot(DType dt, double[] a, double[] b) {
        if (dt == DType.F64) {
            double s = 0;
            for (int j = 0; j < a.length; j++) s = s + a[j] * b[j];
            return s;
        }
        float s = 0f;
        for (int j = 0; j < a.length; j++) s = s + (float) a[j] * (float) b[j];
        return s;
    }

    // ------------------------------------------------------------------ plumbing

    /** {@code v} at the compute precision: fp32 for F32/BF16, fp64 for F64. */
    private static double cp(DType dt, double v) {
        return dt == DType.F64 ? v : (float) v;
    }

    /** {@code v} stored in the dtype (BF16: to fp32, then to bf16). */
    private static double st(DType dt, double v) {
        return switch (dt) {
            case F64 -> v;
            case BF16 -> Bf16.round((float) v);
            default -> (float) v;
        };
    }

    /** A fresh array like {@code x} ({@link HostKernels#fresh}), or null. */
    private static INDArray fresh(INDArray x) {
        return HostKernels.fresh(x.dataType(), x.shape());
    }

    private static int rowsPerTask(int c) {
        return Math.max(1, HostKernels.TASK / Math.max(1, c));
    }

    private static int tasks(int n, int c) {
        int per = rowsPerTask(c);
        return (n + per - 1) / per;
    }

    /** Runs {@code body} over n rows of c elements in tasks of fixed rows, in parallel for large inputs. */
    private static void rows(int n, int c, RowTask body) {
        int per = rowsPerTask(c), tasks = tasks(n, c);
        java.util.function.IntConsumer t = k -> body.run(k, k * per, Math.min(n, (k + 1) * per));
        if ((long) n * c < HostKernels.PARALLEL_MIN || tasks == 1) {
            for (int k = 0; k < tasks; k++) t.accept(k);
        } else {
            IntStream.range(0, tasks).parallel().forEach(t);
        }
    }

    /** Rows of a dense FLOAT or DOUBLE array's native memory as doubles (absolute bulk copies: thread-safe). */
    private static final class Io {
        private final FloatBuffer f;
        private final DoubleBuffer d;

        Io(INDArray a) {
            var nio = a.data().asNio().order(ByteOrder.nativeOrder());
            f = a.dataType() == DataType.FLOAT ? nio.asFloatBuffer() : null;
            d = f == null ? nio.asDoubleBuffer() : null;
        }

        double[] row(int off, int len) {
            double[] r = new double[len];
            read(off, r);
            return r;
        }

        void read(int off, double[] dst) {
            if (d != null) {
                d.get(off, dst, 0, dst.length);
                return;
            }
            float[] tmp = scratch(dst.length);
            f.get(off, tmp, 0, dst.length);
            for (int i = 0; i < dst.length; i++) dst[i] = tmp[i];
        }

        /** Writes {@code src}, whose values are already in the array's storage precision. */
        void write(int off, double[] src) {
            if (d != null) {
                d.put(off, src, 0, src.length);
                return;
            }
            float[] tmp = scratch(src.length);
            for (int i = 0; i < src.length; i++) tmp[i] = (float) src[i];
            f.put(off, tmp, 0, src.length);
        }

        /**
         * This thread's float row of at least {@code len} elements: a row is read or written thousands of times per
         * op, and a fresh array each time made about 2 GB of garbage per small-preset step at 64×128 (RMSNorm and
         * softmax rows, forward and backward).
         */
        private static float[] scratch(int len) {
            float[] s = SCRATCH.get();
            if (s.length < len) SCRATCH.set(s = new float[len]);
            return s;
        }

        private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    }
}
