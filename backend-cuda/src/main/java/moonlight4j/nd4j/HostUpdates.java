package moonlight4j.nd4j;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The in-place and fused optimizer updates as {@link HostKernels} passes over the tensors' own memory (nd4j-native,
 * dense arrays): one pass, no scratch arrays in native memory. Each element is computed by exactly the expressions
 * of the unfused ops, as the oracle's fused updates: a scalar converted to the dtype ({@link Nd4jDataOps#scalar}),
 * an axpy's α at the compute precision and {@code p + α·u} formed in double and rounded once, and for BF16 a
 * rounding after every op of the sequence ({@link moonlight4j.api.FusedOps}). Every method returns false (and
 * touches nothing) when the pass does not apply; the caller then runs the ND4J ops.
 */
final class HostUpdates {

    private HostUpdates() {
    }

    /** {@code dst ← src}, widened, narrowed or rounded to dst's dtype. */
    static boolean copyInto(Nd4jDataOps be, Tensor dst, Tensor src) {
        INDArray d = be.arr(dst), s = be.arr(src);
        if (!HostKernels.applies(d, s)) return false;
        boolean round = dst.dtype() == DType.BF16 && src.dtype() != DType.BF16;
        HostKernels.map(new INDArray[]{d}, false, new INDArray[]{s}, round,
                (v, n, acc) -> { System.arraycopy(v[1], 0, v[0], 0, n); return acc; },
                (v, n, acc) -> { System.arraycopy(v[1], 0, v[0], 0, n); return acc; });
        return true;
    }

    /** {@code p ← s·p}. */
    static boolean scale(Nd4jDataOps be, Tensor p, double s) {
        INDArray a = be.arr(p);
        if (!HostKernels.applies(a)) return false;
        double sv = Nd4jDataOps.scalar(s, p.dtype());
        float sf = (float) sv;
        HostKernels.map(new INDArray[]{a}, true, new INDArray[0], p.dtype() == DType.BF16,
                (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] *= sf; return acc; },
                (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] *= sv; return acc; });
        return true;
    }

    /** {@code p ← p + α·u}, u widened or narrowed to p's compute precision. */
    static boolean axpy(Nd4jDataOps be, Tensor p, double alpha, Tensor u) {
        return scaleAxpy(be, p, 1.0, alpha, u, false);
    }

    /** {@code p ← s·p; p ← p + α·u} (the scale skipped when {@code !scale}). */
    static boolean scaleAxpy(Nd4jDataOps be, Tensor p, double s, double alpha, Tensor u, boolean scale) {
        INDArray a = be.arr(p), w = be.arr(u);
        if (!HostKernels.applies(a, w)) return false;
        DType dt = p.dtype();
        boolean bf16 = dt == DType.BF16;
        double sv = Nd4jDataOps.scalar(s, dt), al = compute(dt, alpha);
        float sf = (float) sv;
        HostKernels.map(new INDArray[]{a}, true, new INDArray[]{w}, bf16,
                (v, n, acc) -> {
                    float[] pf = v[0], uf = v[1];
                    for (int i = 0; i < n; i++) {
                        float scaled = scale ? store(bf16, pf[i] * sf) : pf[i];
                        pf[i] = (float) (scaled + al * uf[i]);            // rounded to bf16 by the pass
                    }
                    return acc;
                },
                (v, n, acc) -> {
                    double[] pd = v[0], ud = v[1];
                    for (int i = 0; i < n; i++) pd[i] = (scale ? pd[i] * sv : pd[i]) + al * ud[i];
                    return acc;
                });
        return true;
    }

    /** {@code a ← lerp(a, b, w)}. */
    static boolean lerp(Nd4jDataOps be, Tensor a, Tensor b, double w) {
        INDArray x = be.arr(a), y = be.arr(b);
        if (!HostKernels.applies(x, y)) return false;
        double wv = Nd4jDataOps.scalar(w, a.dtype());
        HostKernels.map(new INDArray[]{x}, true, new INDArray[]{y}, a.dtype() == DType.BF16,
                HostOps.lerpFloat(0, 0, 1, (float) wv), HostOps.lerpDouble(0, 0, 1, wv));
        return true;
    }

    /**
     * {@code buf ← μ·buf + g}, then (nesterov not null) {@code nesterov ← g + μ·buf}: scaleInPlace, axpyInPlace,
     * copyInto, axpyInPlace. All of one dtype (else false).
     */
    static boolean momentum(Nd4jDataOps be, Tensor buf, Tensor g, double mu, Tensor nesterov) {
        DType dt = buf.dtype();
        if (g.dtype() != dt || (nesterov != null && nesterov.dtype() != dt)) return false;
        INDArray b = be.arr(buf), gr = be.arr(g);
        INDArray[] outs = nesterov == null ? new INDArray[]{b} : new INDArray[]{b, be.arr(nesterov)};
        if (!HostKernels.applies(b, gr) || !HostKernels.applies(outs)) return false;
        boolean bf16 = dt == DType.BF16, nest = nesterov != null;
        double muScalar = Nd4jDataOps.scalar(mu, dt), muAlpha = compute(dt, mu);
        float muS = (float) muScalar;
        int gi = outs.length;                                            // slot of g
        HostKernels.map(outs, true, new INDArray[]{gr}, false,
                (v, n, acc) -> {
                    float[] bf = v[0], nf = v[1], gf = v[gi];
                    for (int i = 0; i < n; i++) {
                        float decayed = store(bf16, bf[i] * muS);                              // scaleInPlace(buf, μ)
                        float updated = store(bf16, (float) (decayed + 1.0 * gf[i]));         // axpy(buf, 1, g)
                        bf[i] = updated;
                        if (nest) nf[i] = store(bf16, (float) (gf[i] + muAlpha * updated));    // copy g; axpy(·, μ, buf)
                    }
                    return acc;
                },
                (v, n, acc) -> {
                    double[] bd = v[0], nd = v[1], gd = v[gi];
                    for (int i = 0; i < n; i++) {
                        double updated = bd[i] * muScalar + 1.0 * gd[i];
                        bd[i] = updated;
                        if (nest) nd[i] = gd[i] + muAlpha * updated;
                    }
                    return acc;
                });
        return true;
    }

    /**
     * {@link moonlight4j.api.Backend#adamUpdateInPlace} in one pass over p, m, v (slots 0–2) and g (slot 3), each
     * step as the op that defines it, rounded where it rounds; returns Σd² at the compute precision, in element
     * order within each {@link HostKernels#TASK}, the partial sums added in task order. All of one dtype and shape,
     * and {@link HostKernels#applies} to their arrays (the caller checks). F32 runs {@link VectorUpdates#adam} when
     * {@link HostKernels#VECTOR}: the same bits.
     */
    static double adam(Nd4jDataOps be, Tensor p, Tensor g, Tensor m, Tensor v, AdamUpdate u) {
        INDArray P = be.arr(p), G = be.arr(g), M = be.arr(m), V = be.arr(v);
        DType dt = p.dtype();
        boolean bf16 = dt == DType.BF16, lerpV = u.lerpSecondMoment();
        double decay = Nd4jDataOps.scalar(u.decay(), dt);
        double w1 = Nd4jDataOps.scalar(1 - u.beta1(), dt), w2 = Nd4jDataOps.scalar(1 - u.beta2(), dt);
        double beta2 = Nd4jDataOps.scalar(u.beta2(), dt), oneMinusBeta2 = compute(dt, 1 - u.beta2());
        double scale = Nd4jDataOps.scalar(u.denomScale(), dt), eps = Nd4jDataOps.scalar(u.eps(), dt);
        double step = compute(dt, -u.stepSize());
        Adam32 c = new Adam32(bf16, lerpV, (float) decay, (float) w1, (float) w2, (float) beta2, oneMinusBeta2,
                (float) scale, (float) eps, step);
        HostKernels.FloatBlock f = HostKernels.VECTOR && !bf16
                ? (s, n, acc) -> VectorUpdates.adam(s, n, acc, c)
                : (s, n, acc) -> c.run(s, 0, n, acc);
        return HostKernels.map(new INDArray[]{P, M, V}, true, new INDArray[]{G}, false, f,
                (s, n, acc) -> {
                    double[] pd = s[0], md = s[1], vd = s[2], gd = s[3];
                    for (int i = 0; i < n; i++) {
                        double gi = gd[i];
                        double pi = pd[i] * decay;
                        double mi = lerp(md[i], gi, w1);
                        double g2 = gi * gi;
                        double vi = lerpV ? lerp(vd[i], g2, w2) : vd[i] * beta2 + oneMinusBeta2 * g2;
                        double d = mi / (Math.sqrt(vi) * scale + eps);
                        pd[i] = pi + step * d;
                        md[i] = mi;
                        vd[i] = vi;
                        acc += d * d;
                    }
                    return acc;
                });
    }

    /**
     * Adam's scalars for F32 and BF16 tensors: each converted to the dtype ({@link Nd4jDataOps#scalar}) where an op
     * takes it as a scalar, kept in double where an axpy's α is ({@code oneMinusBeta2}, {@code step}: fp32 values).
     */
    record Adam32(boolean bf16, boolean lerpV, float decay, float w1, float w2, float beta2, double oneMinusBeta2,
                  float scale, float eps, double step) {

        /** Elements {@code [from, n)} of a block (slots p, m, v, g): updated in place; returns acc + Σd² in order. */
        float run(float[][] s, int from, int n, float acc) {
            float[] pf = s[0], mf = s[1], vf = s[2], gf = s[3];
            for (int i = from; i < n; i++) {
                float gi = gf[i];
                float pi = store(bf16, pf[i] * decay);                                  // p ← decay·p
                float mi = store(bf16, lerp(mf[i], gi, w1));                            // m ← lerp(m, g, 1−β1)
                float g2 = store(bf16, gi * gi);                                        // g⊙g
                float vi = lerpV
                        ? store(bf16, lerp(vf[i], g2, w2))                             // v ← lerp(v, g², 1−β2)
                        : store(bf16, (float) (store(bf16, vf[i] * beta2) + oneMinusBeta2 * g2));
                float sq = store(bf16, (float) Math.sqrt(vi));
                float denom = store(bf16, store(bf16, sq * scale) + eps);
                float d = store(bf16, mi / denom);                                      // d = m / (√v·s + eps)
                pf[i] = store(bf16, (float) (pi + step * d));                           // p ← p − stepSize·d
                mf[i] = mi;
                vf[i] = vi;
                acc += d * d;
            }
            return acc;
        }
    }

    /** PyTorch's lerp in fp32 steps, as {@link HostOps#lerpFloat}. */
    static float lerp(float a, float b, float w) {
        return Math.abs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
    }

    private static double lerp(double a, double b, double w) {
        return Math.abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1.0 - w);
    }

    /** An fp32 value stored to the dtype: rounded to bf16 for BF16 (NaN-safe, {@link Bf16#round}), else itself. */
    private static float store(boolean bf16, float v) {
        return bf16 ? Bf16.round(v) : v;
    }

    /** A scalar at the compute precision: fp32 for F32/BF16, fp64 for F64. */
    private static double compute(DType d, double s) {
        return d == DType.F64 ? s : (float) s;
    }
}
