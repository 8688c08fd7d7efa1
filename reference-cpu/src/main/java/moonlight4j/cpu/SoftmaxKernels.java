package moonlight4j.cpu;

import moonlight4j.api.DType;
import moonlight4j.api.Shapes;

/**
 * Softmax and cross-entropy over the last axis, forward and backward side by side. F32/BF16 compute in fp32
 * (values rounded to fp32 at every step, max-subtracted), F64 in fp64; the result is rounded once to the dtype.
 * Rows are {@code (N, C)}: N = all leading dims, C = the last.
 */
final class SoftmaxKernels {

    private SoftmaxKernels() {
    }

    /** {@code y_c = e^(x_c − m) / Σ_c' e^(x_c' − m)}, m = max_c x_c, per row (row blocks on the workers). */
    static void softmax(Workers workers, CpuTensor x, CpuTensor y) {
        DType dt = x.dtype();
        int c = lastDim(x);
        if (c == 0) return;
        workers.forRows(x.n / c, c, (from, to) -> {
            double[] e = new double[c];
            for (int row = from; row < to; row++) {
                int base = row * c;
                double s = expRow(x, base, c, e);
                for (int j = 0; j < c; j++) y.put(base + j, Precision.compute(dt, e[j] / s));
            }
        });
    }

    /** {@code dx = y ⊙ (dy − Σ_c dy_c·y_c)} per row (row blocks on the workers, each row's sum on one thread). */
    static void softmaxBackward(Workers workers, CpuTensor y, CpuTensor dy, CpuTensor dx) {
        DType dt = y.dtype();
        int c = lastDim(y);
        if (c == 0) return;
        workers.forRows(y.n / c, c, (from, to) -> {
            for (int row = from; row < to; row++) {
                int base = row * c;
                double dot = 0;
                for (int j = 0; j < c; j++) dot = Precision.compute(dt, dot + Precision.compute(dt, dy.at(base + j) * y.at(base + j)));
                for (int j = 0; j < c; j++) {
                    dx.put(base + j, y.at(base + j) * Precision.compute(dt, dy.at(base + j) - dot));
                }
            }
        });
    }

    /**
     * {@code Σ_n −log softmax(logits_n)[t_n]} over rows with {@code t_n ≠ ignoreIndex}: per row the fp32
     * log-softmax {@code (x_t − m) − log Σ e^(x − m)} (row blocks on the workers), the row losses then summed in
     * double in row order.
     */
    static double crossEntropySum(Workers workers, CpuTensor logits, CpuTensor targets, long ignoreIndex) {
        DType dt = logits.dtype();
        int n = logits.shapeRef()[0], v = logits.shapeRef()[1];
        checkTargets(targets, n, v, ignoreIndex);
        double[] logp = new double[n];
        workers.forRows(n, v, (from, to) -> {
            double[] e = new double[v];
            for (int row = from; row < to; row++) {
                long t = targets.l[row];
                if (t == ignoreIndex) continue;
                int base = row * v;
                double m = rowMax(logits, base, v);
                double s = expRow(logits, base, v, e);
                logp[row] = Precision.compute(dt, Precision.compute(dt, logits.at(base + (int) t) - m)
                        - Precision.compute(dt, Math.log(s)));
            }
        });
        double total = 0;
        for (int row = 0; row < n; row++) {
            if (targets.l[row] != ignoreIndex) total -= logp[row];
        }
        return total;
    }

    /** {@code dlogits_n = scale · (softmax(logits_n) − onehot(t_n))}, zero for ignored rows (row blocks on the workers). */
    static void crossEntropyBackward(Workers workers, CpuTensor logits, CpuTensor targets, long ignoreIndex,
                                     double scale, CpuTensor dx) {
        DType dt = logits.dtype();
        int n = logits.shapeRef()[0], v = logits.shapeRef()[1];
        checkTargets(targets, n, v, ignoreIndex);
        workers.forRows(n, v, (from, to) -> {
            double[] e = new double[v];
            for (int row = from; row < to; row++) {
                long t = targets.l[row];
                if (t == ignoreIndex) continue;                   // dx is zero-initialised
                int base = row * v;
                double s = expRow(logits, base, v, e);
                for (int j = 0; j < v; j++) {
                    double p = Precision.compute(dt, e[j] / s);
                    dx.put(base + j, scale * (j == t ? p - 1.0 : p));
                }
            }
        });
    }

    /** Every target not ignored is a vocabulary id, checked on the caller before any row is computed. */
    private static void checkTargets(CpuTensor targets, int n, int v, long ignoreIndex) {
        for (int row = 0; row < n; row++) {
            long t = targets.l[row];
            if (t != ignoreIndex) Shapes.checkIdRange("crossEntropy", "vocabulary", t, v);
        }
    }

    /** Fills {@code e_j = fl(exp(fl(x_j − m)))} for one row and returns {@code Σ_j e_j} (fl-accumulated in order). */
    private static double expRow(CpuTensor x, int base, int c, double[] e) {
        DType dt = x.dtype();
        double m = rowMax(x, base, c);
        double s = 0;
        for (int j = 0; j < c; j++) {
            e[j] = Precision.compute(dt, Math.exp(Precision.compute(dt, x.at(base + j) - m)));
            s = Precision.compute(dt, s + e[j]);
        }
        return s;
    }

    private static double rowMax(CpuTensor x, int base, int c) {
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) m = Math.max(m, x.at(base + j));
        return m;
    }

    private static int lastDim(CpuTensor x) {
        int[] s = x.shapeRef();
        return s.length == 0 ? 1 : s[s.length - 1];
    }
}
