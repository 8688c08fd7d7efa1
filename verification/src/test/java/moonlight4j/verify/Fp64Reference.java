package moonlight4j.verify;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;

/**
 * Direct fp64 formulas of the SPI ops that are more than one line, for {@link BackendContractTest}. Each returns
 * the exact-as-fp64 result and, where a tolerance needs it, the magnitude its rounding errors scale with. Written
 * from the Backend Javadoc and docs/model.md#rmsnorm and docs/model.md#rope-layout, not from any backend's code.
 */
final class Fp64Reference {

    private Fp64Reference() {
    }

    /** Result and error scale of a computation. */
    record Result(double[] value, double[] scale) {
    }

    /** {@code c[b] = op(a[b])·op(b[b or shared])}: a (batch, ra, ca), b (batch or 1, rb, cb) row-major. */
    static Result matmul(double[] a, int[] sa, double[] b, int[] sb, boolean transA, boolean transB) {
        int batch = sa.length == 3 ? sa[0] : 1;
        boolean shared = sb.length == 2;
        int ra = sa[sa.length - 2], ca = sa[sa.length - 1], rb = sb[sb.length - 2], cb = sb[sb.length - 1];
        int m = transA ? ca : ra, k = transA ? ra : ca, n = transB ? rb : cb;
        double[] c = new double[batch * m * n], s = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++) {
            int ao = bi * ra * ca, bo = shared ? 0 : bi * rb * cb;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double av = transA ? a[ao + p * ca + i] : a[ao + i * ca + p];
                        double bv = transB ? b[bo + j * cb + p] : b[bo + p * cb + j];
                        acc += av * bv;
                        mag += Math.abs(av * bv);
                    }
                    c[(bi * m + i) * n + j] = acc;
                    s[(bi * m + i) * n + j] = mag;
                }
            }
        }
        return new Result(c, s);
    }

    /** Numpy broadcasting of a and b to {@code out}: the flat index of each output element in the input. */
    static int[] broadcastIndex(int[] in, int[] out) {
        int n = 1;
        for (int d : out) n *= d;
        int[] idx = new int[n];
        int off = out.length - in.length;
        for (int o = 0; o < n; o++) {
            int rem = o, flat = 0, stride = 1;
            for (int d = out.length - 1; d >= 0; d--) {
                int coord = rem % out[d];
                rem /= out[d];
                if (d >= off) {
                    int size = in[d - off];
                    flat += (size == 1 ? 0 : coord) * stride;
                    stride *= size;
                }
            }
            idx[o] = flat;
        }
        return idx;
    }

    /** Softmax of each row of length c: {@code y = e^(x − m) / Σ e^(x − m)}. */
    static double[] softmax(double[] x, int c) {
        double[] y = new double[x.length];
        for (int base = 0; base < x.length; base += c) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < c; j++) m = Math.max(m, x[base + j]);
            for (int j = 0; j < c; j++) s += Math.exp(x[base + j] - m);
            for (int j = 0; j < c; j++) y[base + j] = Math.exp(x[base + j] - m) / s;
        }
        return y;
    }

    /** {@code r = (mean(x²) + eps)^(−1/2)} of row {@code row} of length c. */
    static double rmsInv(double[] x, int row, int c, double eps) {
        double ss = 0;
        for (int j = 0; j < c; j++) ss += x[row * c + j] * x[row * c + j];
        return 1.0 / Math.sqrt(ss / c + eps);
    }

    /** docs/model.md#rmsnorm without intermediate roundings: {@code y = w ⊙ x·r}. */
    static double[] rmsNorm(double[] x, double[] w, double eps) {
        int c = w.length;
        double[] y = new double[x.length];
        for (int row = 0; row * c < x.length; row++) {
            double r = rmsInv(x, row, c, eps);
            for (int j = 0; j < c; j++) y[row * c + j] = w[j] * x[row * c + j] * r;
        }
        return y;
    }

    /**
     * The rope angle {@code pos·inv_freq_j}, {@code inv_freq_j = θ^(−2j/D)}: in fp64 for F32/F64 (their tables are
     * fp32, whose error the caller's bound covers); for BF16 the angle of the bf16 table the Backend Javadoc defines
     * (the release's tables after {@code model.to(torch.bfloat16)}): {@code bf16(bf16(pos)·bf16(inv_freq_j))}, exact
     * in fp64 given the rounded factors.
     */
    static double angle(DType dt, long pos, int j, int d, double theta) {
        double inv = Math.pow(theta, -2.0 * j / d);
        if (dt != DType.BF16) return pos * inv;
        return Bf16.round(Bf16.round((float) pos) * Bf16.round((float) inv));
    }

    /**
     * docs/model.md#rope-layout: x (B, H, S, D) interleaved → y half-split: {@code y_j = x_{2j}·cos − x_{2j+1}·sin},
     * {@code y_{j+D/2} = x_{2j+1}·cos + x_{2j}·sin}; scale = |x_{2j}| + |x_{2j+1}| (for both outputs).
     */
    static Result rope(DType dt, double[] x, int[] s, long[] pos, double theta) {
        int b = s[0], h = s[1], seq = s[2], d = s[3], half = d / 2;
        double[] y = new double[x.length], sc = new double[x.length];
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++)
                for (int t = 0; t < seq; t++) {
                    int base = ((bi * h + hi) * seq + t) * d;
                    for (int j = 0; j < half; j++) {
                        double f = angle(dt, pos[bi * seq + t], j, d, theta), c = Math.cos(f), sn = Math.sin(f);
                        double xa = x[base + 2 * j], xb = x[base + 2 * j + 1];
                        y[base + j] = xa * c - xb * sn;
                        y[base + half + j] = xb * c + xa * sn;
                        sc[base + j] = sc[base + half + j] = Math.abs(xa) + Math.abs(xb);
                    }
                }
        return new Result(y, sc);
    }

    /** The angle magnitude that fp32 angle errors scale with: |f| ≤ max position (inv_freq ≤ 1). */
    static double maxAngle(long[] pos) {
        long m = 0;
        for (long p : pos) m = Math.max(m, Math.abs(p));
        return m;
    }
}
