package moonlight4j.cpu;

import moonlight4j.api.DType;

/**
 * Sums and norms. F32/BF16 accumulate in fp32, F64 in fp64, always in index order (so results do not depend on
 * threads or blocking): {@code acc ← fl(acc + v)} with fl the compute rounding of {@link Precision}.
 */
final class Reductions {

    private Reductions() {
    }

    /**
     * {@code out[o, i] = Σ_a x[o, a, i]} over the flattened (outer, axis, inner) view, a in order. F32/BF16 add in
     * float (the same bits as rounding each double sum to float, {@link Precision}), the outer rows split over the
     * workers: each row's sums are still one thread's, in order.
     */
    static void sum(Workers workers, CpuTensor x, int axis, CpuTensor out) {
        int[] s = x.shapeRef();
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= s[d];
        for (int d = axis + 1; d < s.length; d++) inner *= s[d];
        int len = s[axis], in = inner;
        DType dt = x.dtype();
        if (x.f != null) {
            float[] f = x.f;
            workers.forRows(outer, len * inner, (from, to) -> {
                float[] acc = new float[in];
                for (int o = from; o < to; o++) {
                    java.util.Arrays.fill(acc, 0f);
                    for (int a = 0, base = o * len * in; a < len; a++, base += in) {
                        for (int i = 0; i < in; i++) acc[i] = acc[i] + f[base + i];
                    }
                    for (int i = 0; i < in; i++) out.put(o * in + i, acc[i]);
                }
            });
            return;
        }
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double acc = 0;
                for (int a = 0; a < len; a++) acc = Precision.compute(dt, acc + x.at((o * len + a) * inner + i));
                out.put(o * inner + i, acc);
            }
        }
    }

    /** {@code Σ_i x_i} in element order at compute precision. */
    static double sumAll(CpuTensor x) {
        DType dt = x.dtype();
        double acc = 0;
        for (int i = 0; i < x.n; i++) acc = Precision.compute(dt, acc + x.at(i));
        return acc;
    }

    /**
     * {@code Σ_i x_i²}: each square and each partial sum rounded to the compute precision (fp32 for F32/BF16). On
     * float storage this is plain float arithmetic, which gives the same bits (a float × or + done in double and
     * rounded to float is the float operation, {@link Precision}) at a shorter dependency chain per element.
     */
    static double sumSquares(CpuTensor x) {
        if (x.f != null) return sumSquares(x.f, 0, x.n);
        DType dt = x.dtype();
        double acc = 0;
        for (int i = 0; i < x.n; i++) {
            double v = x.at(i);
            acc = Precision.compute(dt, acc + Precision.compute(dt, v * v));
        }
        return acc;
    }

    /** {@code Σ f_i²} over {@code [from, to)} in index order, fp32 (the F32/BF16 case of {@link #sumSquares(CpuTensor)}). */
    static float sumSquares(float[] f, int from, int to) {
        float acc = 0f;
        for (int i = from; i < to; i++) acc = acc + f[i] * f[i];
        return acc;
    }

    /** {@code ‖x‖_F = √(Σ x²)} at compute precision (golden-data/FORMAT.md §3.1); the caller rounds it once to x's dtype. */
    static double frobeniusNorm(CpuTensor x) {
        return Precision.compute(x.dtype(), Math.sqrt(sumSquares(x)));
    }

    /**
     * Largest element; NaN when any element is NaN. Each {@link Workers#CHUNK} finds its own largest (the first of
     * equal ones, as {@code >} keeps it), then the chunks' are compared in order the same way: the one element a single
     * pass would return.
     */
    static double maxAll(Workers workers, CpuTensor x) {
        if (x.n == 0) throw new IllegalArgumentException("maxAll: tensor " + x + " has no elements");
        double[] max = new double[Workers.chunks(x.n)];
        workers.forChunks(x.n, (from, to) -> max[from / Workers.CHUNK] = maxOf(x, from, to));
        double m = Double.NEGATIVE_INFINITY;
        for (double v : max) {
            if (Double.isNaN(v)) return Double.NaN;
            if (v > m) m = v;
        }
        return m;
    }

    private static double maxOf(CpuTensor x, int from, int to) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = from; i < to; i++) {
            double v = x.at(i);
            if (Double.isNaN(v)) return Double.NaN;
            if (v > m) m = v;
        }
        return m;
    }

    /** No element is NaN or infinite; the {@link Workers#CHUNK}s are checked on the workers. */
    static boolean allFinite(Workers workers, CpuTensor x) {
        boolean[] finite = new boolean[Workers.chunks(x.n)];
        workers.forChunks(x.n, (from, to) -> {
            boolean ok = true;
            for (int i = from; i < to && ok; i++) ok = Double.isFinite(x.at(i));
            finite[from / Workers.CHUNK] = ok;
        });
        for (boolean ok : finite) {
            if (!ok) return false;
        }
        return true;
    }
}
