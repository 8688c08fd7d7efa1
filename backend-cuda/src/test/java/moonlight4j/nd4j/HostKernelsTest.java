package moonlight4j.nd4j;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.DType;
import moonlight4j.api.FusedOps;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import java.util.function.BiFunction;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The host loops ({@link HostKernels}) against the ND4J ops they replace, on shapes large enough to span several
 * blocks and tasks (and so the parallel path): an op that is one IEEE operation (+, −, ×, ÷, √, a scalar op, lerp's
 * fp32 steps, a copy) gives the same bits either way, so a tensor whose array is an 'f'-order copy (which the host
 * loops refuse, taking the ND4J path) must give exactly the host result (where both run libnd4j, as the F32/F64
 * binary ops, the check still holds). The fused updates must not depend on how many threads run them, Σd² included.
 */
class HostKernelsTest {

    private final Nd4jBackend be = new Nd4jBackend();

    @BeforeEach
    void onTheHost() {
        Assumptions.assumeFalse(DeviceInfo.cuda(), "host loops run on nd4j-native only");
    }

    /** Output size ≫ {@link HostKernels#TASK}, rows not aligned to blocks or tasks. */
    private static final int[][][] BROADCASTS = {
            {{3, 700, 129}, {3, 700, 129}},      // same shape
            {{3, 700, 129}, {129}},              // trailing-row vector
            {{3, 700, 129}, {3, 700, 1}},        // column
            {{40, 35, 160}, {40, 1, 1}},         // per-matrix scalar (Newton–Schulz's X / ‖X‖)
            {{}, {301, 517}},                    // scalar on the left
            {{1, 517}, {301, 1}},                // both broadcast
    };

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void binaryOpsOnBroadcastShapesGiveTheNd4jPathsBits(DType dt) {
        Random r = new Random(11);
        for (int[][] sh : BROADCASTS) {
            Tensor a = tensor(r, dt, sh[0]), b = positive(r, dt, sh[1]);
            check("add " + str(sh), a, b, be::add);
            check("sub " + str(sh), a, b, be::sub);
            check("mul " + str(sh), a, b, be::mul);
            check("div " + str(sh), a, b, be::div);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void singleOpsAndInPlaceUpdatesGiveTheNd4jPathsBits(DType dt) {
        Random r = new Random(12);
        int[] shape = {5, 300, 97};
        Tensor x = tensor(r, dt, shape), y = tensor(r, dt, shape), v = positive(r, dt, shape);
        check("addScalar", x, t -> be.addScalar(t, 0.3));
        check("mulScalar", x, t -> be.mulScalar(t, -4.775));
        check("sqrt", v, be::sqrt);
        check("lerp w 0.1", x, y, (p, q) -> be.lerp(p, q, 0.1));
        check("lerp w 0.95", x, y, (p, q) -> be.lerp(p, q, 0.95));
        check("scaleInPlace", x, t -> inPlace(t, c -> be.scaleInPlace(c, 0.999)));
        check("lerpInPlace", x, y, (p, q) -> inPlace(p, c -> be.lerpInPlace(c, q, 0.05)));
        Tensor f64 = be.cast(y, DType.F64);
        check("copyInto from F64", x, t -> inPlace(t, c -> be.copyInto(c, dense(t) ? f64 : view(f64))));
    }

    /**
     * BF16 rounding in the pass on blocks with NaN, ±Inf, overflow to Inf and exact ties (the element-by-element
     * branch and the branch-free one) gives the bits of the ND4J path's rounding.
     */
    @org.junit.jupiter.api.Test
    void bf16RoundingInThePassKeepsNaNsInfinitiesAndTies() {
        Random r = new Random(18);
        int rows = 4, cols = 25_000;                              // 100,000 elements: several blocks and tasks
        float[] a = new float[rows * cols], b = new float[rows * cols];
        for (int i = 0; i < a.length; i++) {
            a[i] = moonlight4j.api.Bf16.round((float) r.nextGaussian());
            // half a bf16 ulp of a (same sign): a + b is exactly halfway between two bf16 values
            b[i] = Float.intBitsToFloat(Float.floatToRawIntBits(a[i]) & 0xff800000) * 0x1p-8f;
        }
        a[7] = Float.NaN;                                        // a block with a NaN: element by element
        a[5000] = Float.POSITIVE_INFINITY;
        a[60_000] = 0x1.fep127f;                                  // the largest bf16; the tie rounds to even: +Inf
        b[60_000] = 0x1p119f;
        Tensor x = be.cast(be.fromFloats(a, rows, cols), DType.BF16), y = be.cast(be.fromFloats(b, rows, cols), DType.BF16);
        check("bf16 add with NaN, Inf, ties", x, y, be::add);
        double[] sum = be.toDoubles(be.add(x, y));
        assertThat(sum[7]).isNaN();
        assertThat(sum[60_000]).isEqualTo(Double.POSITIVE_INFINITY);
    }

    /** Casts between the floating dtypes (bf16 rounding in the pass) give the ND4J path's bits. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void castsGiveTheNd4jPathsBits(DType dt) {
        Random r = new Random(16);
        Tensor x = tensor(r, DType.F64, 3, 400, 111);
        for (DType from : new DType[]{DType.F32, DType.F64, DType.BF16}) {
            Tensor src = from == DType.F64 ? x : be.cast(x, from);
            check("cast " + from + " → " + dt, src, t -> be.cast(t, dt));
        }
    }

    /**
     * indexAddInPlace with repeated rows (each addition in order, a BF16 row rounded after its update) and
     * embeddingBackward give the ND4J path's bits.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void rowScatterAddsGiveTheNd4jPathsBits(DType dt) {
        Random r = new Random(17);
        int n = 50, m = 900, c = 1100;                               // m·c ≫ TASK: the column tasks run in parallel
        long[] ids = new long[m];
        for (int i = 0; i < m; i++) ids[i] = r.nextInt(n);
        Tensor idx = be.fromLongs(ids, m), src = tensor(r, dt, m, c), target = tensor(r, dt, n, c);
        check("indexAddInPlace", target, t -> inPlace(t, d -> be.indexAddInPlace(d, idx, dense(d) ? src : view(src))));
        check("embeddingBackward", src, t -> be.embeddingBackward(t, idx, n));
    }

    /** axpy: {@code p + α·u} formed in double from the fp32 (F64: fp64) operands, rounded once to p's dtype. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void axpyRoundsOnce(DType dt) {
        Random r = new Random(13);
        int n = 3 * HostKernels.TASK + 77;
        Tensor p = tensor(r, dt, n), u = tensor(r, dt, n);
        double[] p0 = be.toDoubles(p), u0 = be.toDoubles(u);
        double alpha = -0.0123;
        be.axpyInPlace(p, alpha, u);
        double a = dt == DType.F64 ? alpha : (float) alpha;
        double[] expected = new double[n];
        for (int i = 0; i < n; i++) {
            double e = p0[i] + a * u0[i];
            expected[i] = dt == DType.F64 ? e : dt == DType.F32 ? (float) e : moonlight4j.api.Bf16.round((float) e);
        }
        assertSameValues("axpy " + dt, be.toDoubles(p), expected);
    }

    /**
     * Adam, momentum and scaleAxpy on a tensor of several tasks: the same bits (Σd² included) on 1, 2 or 5
     * threads, and the bits of the op sequences that define them.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void fusedUpdatesDoNotDependOnTheThreadCount(DType dt) throws Exception {
        int n = 7 * HostKernels.TASK + 1234;
        Random r = new Random(14);
        double[][] init = new double[4][n];
        for (double[] a : init) for (int i = 0; i < n; i++) a[i] = r.nextGaussian() * 1e-2;
        for (int i = 0; i < n; i++) init[3][i] = Math.abs(init[3][i]) * 1e-3;     // v ≥ 0
        AdamUpdate u = new AdamUpdate(1 - 1e-4, 0.9, 0.95, false, 1 / Math.sqrt(1 - 0.95), 1e-8, 1e-2);
        Tensor[] seq = tensors(init, dt);
        double expected = FusedOps.adam(be, seq[0], seq[1], seq[2], seq[3], u);
        FusedOps.momentum(be, seq[2], seq[1], 0.95, seq[3]);
        FusedOps.scaleAxpy(be, seq[0], 0.999, -0.013, seq[1]);
        for (int threads : new int[]{1, 2, 5}) {
            Tensor[] t = tensors(init, dt);
            double sum = inPool(threads, () -> {
                double s = be.adamUpdateInPlace(t[0], t[1], t[2], t[3], u);
                be.momentumInPlace(t[2], t[1], 0.95, t[3]);
                be.scaleAxpyInPlace(t[0], 0.999, -0.013, t[1]);
                return s;
            });
            assertThat(sum).as("adam Σd² on %d threads", threads).isEqualTo(expected);
            for (int k : new int[]{0, 2, 3}) {
                assertSameValues("tensor " + k + " on " + threads + " threads", be.toDoubles(t[k]), be.toDoubles(seq[k]));
            }
        }
    }

    /**
     * RMSNorm (forward, dx, dw: a sum over rows) and softmax (forward, backward) on row loops spanning several
     * tasks: the same bits on 1, 2 or 5 threads.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void rowLayersDoNotDependOnTheThreadCount(DType dt) throws Exception {
        Random r = new Random(15);
        int[] shape = {4, 300, 96};                                  // 1,200 rows of 96: 4 tasks of 341 rows
        Tensor x = tensor(r, dt, shape), dy = tensor(r, dt, shape), w = positive(r, dt, 96);
        double[][] first = null;
        for (int threads : new int[]{1, 2, 5}) {
            double[][] got = inPool(threads, () -> {
                var g = be.rmsNormBackward(x, w, 1e-6, dy);
                Tensor y = be.softmax(x);
                return new double[][]{be.toDoubles(be.rmsNorm(x, w, 1e-6)), be.toDoubles(g.dx()), be.toDoubles(g.dw()),
                        be.toDoubles(y), be.toDoubles(be.softmaxBackward(y, dy))};
            });
            if (first == null) first = got;
            String[] names = {"rmsNorm", "rmsNorm dx", "rmsNorm dw", "softmax", "softmaxBackward"};
            for (int k = 0; k < got.length; k++) assertSameValues(names[k] + " on " + threads + " threads", got[k], first[k]);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Equal arrays (NaN equal to NaN), reporting the first element that differs. */
    private static void assertSameValues(String what, double[] got, double[] expected) {
        assertThat(got.length).as(what + ": length").isEqualTo(expected.length);
        for (int i = 0; i < got.length; i++) {
            if (Double.compare(got[i], expected[i]) != 0) {
                assertThat(got[i]).as(what + ": element " + i).isEqualTo(expected[i]);
            }
        }
    }

    /** {@code op(a, b)} on the host equals {@code op} on 'f'-order copies (the ND4J path), bit for bit. */
    private void check(String what, Tensor a, Tensor b, BiFunction<Tensor, Tensor, Tensor> op) {
        Tensor va = view(a), vb = view(b);
        assertThat(HostKernels.applies(be.arr(va), be.arr(vb))).as("the ND4J path runs").isFalse();
        Tensor host = op.apply(a, b), nd4j = op.apply(va, vb);
        assertSameValues(what + " " + a.dtype(), be.toDoubles(host), be.toDoubles(nd4j));
    }

    private void check(String what, Tensor a, Function<Tensor, Tensor> op) {
        assertThat(a.rank()).isGreaterThan(1);
        Tensor host = op.apply(a), nd4j = op.apply(view(a));
        assertSameValues(what + " " + a.dtype(), be.toDoubles(host), be.toDoubles(nd4j));
    }

    /** Runs an in-place op on a copy of t (of the same layout) and returns the copy. */
    private Tensor inPlace(Tensor t, java.util.function.Consumer<Tensor> op) {
        INDArray src = be.arr(t);
        Tensor c = be.wrap(src.dup(src.ordering()), t.dtype(), t.shape());
        op.accept(c);
        return c;
    }

    private boolean dense(Tensor t) {
        return be.arr(t).ordering() == 'c';
    }

    /**
     * The same values held by an 'f'-order array, which the host loops refuse (the ND4J ops run); a tensor of rank
     * below 2 (where 'f' and 'c' order coincide) as it is.
     */
    private Tensor view(Tensor t) {
        if (t.rank() < 2) return t;
        INDArray f = be.arr(t).dup('f');
        assertThat(HostKernels.applies(f)).isFalse();
        return be.wrap(f, t.dtype(), t.shape());
    }

    private Tensor tensor(Random r, DType dt, int... shape) {
        float[] f = new float[Math.toIntExact(moonlight4j.api.Shapes.numel(shape))];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        return be.cast(be.fromFloats(f, shape), dt);
    }

    private Tensor positive(Random r, DType dt, int... shape) {
        float[] f = new float[Math.toIntExact(moonlight4j.api.Shapes.numel(shape))];
        for (int i = 0; i < f.length; i++) f[i] = 0.5f + (float) Math.abs(r.nextGaussian());
        return be.cast(be.fromFloats(f, shape), dt);
    }

    private Tensor[] tensors(double[][] init, DType dt) {
        Tensor[] t = new Tensor[init.length];
        for (int k = 0; k < init.length; k++) t[k] = be.cast(be.fromDoubles(init[k], init[k].length), dt);
        return t;
    }

    private static <T> T inPool(int threads, Callable<T> task) throws Exception {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(task).get();
        } finally {
            pool.shutdown();
        }
    }

    private static String str(int[][] sh) {
        return java.util.Arrays.toString(sh[0]) + " ∘ " + java.util.Arrays.toString(sh[1]);
    }
}
