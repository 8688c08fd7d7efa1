package moonlight4j.cpu;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.DType;

/**
 * The fused optimizer updates of the SPI for F32 and BF16 tensors (float storage): one pass over the elements, each
 * element computed by exactly the expressions the unfused ops use ({@link CpuBackend}'s scaleInPlace, axpyInPlace,
 * lerpInPlace, mul, sqrt, mulScalar, addScalar, div, sumSquares), with the same rounding after each op
 * ({@link Precision#store}) and inside it ({@link Precision#compute}), so the results are the same bits. The pass runs
 * in fixed chunks on the {@link Workers}: each element is computed alone, so the chunking changes no bit.
 */
final class FusedUpdates {

    private FusedUpdates() {
    }

    /** {@code p ← s·p; p ← p + α·u} (u of any floating dtype, widened as axpyInPlace widens it). */
    static void scaleAxpy(Workers workers, CpuTensor p, double s, double alpha, CpuTensor u) {
        DType dt = p.dtype();
        double sv = Precision.scalar(dt, s), a = Precision.compute(dt, alpha);
        float[] pf = p.f;
        workers.forChunks(p.n, (from, to) -> {
            for (int i = from; i < to; i++) {
                double scaled = Precision.store(dt, pf[i] * sv);
                pf[i] = (float) Precision.store(dt, scaled + a * Precision.compute(dt, u.at(i)));
            }
        });
    }

    /** {@code buf ← μ·buf + g}; then, if {@code nesterov} is not null, {@code nesterov ← g + μ·buf}. */
    static void momentum(Workers workers, CpuTensor buf, CpuTensor g, double mu, CpuTensor nesterov) {
        DType dt = buf.dtype();
        double muScalar = Precision.scalar(dt, mu), one = Precision.compute(dt, 1.0), muAlpha = Precision.compute(dt, mu);
        float[] b = buf.f, gf = g.f, nf = nesterov == null ? null : nesterov.f;
        workers.forChunks(buf.n, (from, to) -> {
            for (int i = from; i < to; i++) {
                double decayed = Precision.store(dt, b[i] * muScalar);                  // scaleInPlace(buf, μ)
                double updated = Precision.store(dt, decayed + one * Precision.compute(dt, gf[i]));   // axpy(buf, 1, g)
                b[i] = (float) updated;
                if (nf != null) {
                    double copied = Precision.store(dt, gf[i]);                          // copyInto(nesterov, g)
                    nf[i] = (float) Precision.store(dt, copied + muAlpha * Precision.compute(dt, updated));
                }
            }
        });
    }

    /**
     * {@link moonlight4j.api.Backend#adamUpdateInPlace} for F32/BF16; returns Σd² at fp32 in element order. The
     * element updates run in {@link Workers#CHUNK}s on the workers, each chunk keeping its fp32 d² in its own small
     * array; the sum is then taken on one thread in element order, as the unfused sumSquares.
     */
    static double adam(Workers workers, CpuTensor p, CpuTensor g, CpuTensor m, CpuTensor v, AdamUpdate u) {
        float[][] d2 = new float[Workers.chunks(p.n)][];                             // fp32 d² per element, per chunk
        if (p.dtype() == DType.F32) {
            adamF32(workers, p.f, g.f, m.f, v.f, u, d2);
        } else {
            adamRounded(workers, p, g, m, v, u, d2);
        }
        float acc = 0f;
        for (float[] chunk : d2) {
            for (float x : chunk) acc = acc + x;
        }
        return acc;
    }

    /**
     * The update at the precision of any float-stored dtype (BF16 rounds every stored value to bf16): each line the
     * op of {@link moonlight4j.api.Backend#adamUpdateInPlace}'s sequence it computes.
     */
    private static void adamRounded(Workers workers, CpuTensor p, CpuTensor g, CpuTensor m, CpuTensor v,
                                    AdamUpdate u, float[][] d2) {
        DType dt = p.dtype();
        double decay = Precision.scalar(dt, u.decay());
        double w1 = Elementwise.lerpWeight(dt, 1 - u.beta1()), w2 = Elementwise.lerpWeight(dt, 1 - u.beta2());
        double beta2 = Precision.scalar(dt, u.beta2()), oneMinusBeta2 = Precision.compute(dt, 1 - u.beta2());
        double scale = Precision.scalar(dt, u.denomScale()), eps = Precision.scalar(dt, u.eps());
        double step = Precision.compute(dt, -u.stepSize());
        boolean lerpV = u.lerpSecondMoment();
        float[] pf = p.f, gf = g.f, mf = m.f, vf = v.f;
        workers.forChunks(p.n, (from, to) -> {
            float[] out = d2[from / Workers.CHUNK] = new float[to - from];
            for (int i = from; i < to; i++) {
                double gi = gf[i];
                double pi = Precision.store(dt, pf[i] * decay);                              // p ← decay·p
                double mi = Precision.store(dt, Elementwise.lerp(dt, mf[i], gi, w1));         // m ← lerp(m, g, 1−β1)
                double g2 = Precision.store(dt, gi * gi);                                     // g⊙g
                double vi = lerpV
                        ? Precision.store(dt, Elementwise.lerp(dt, vf[i], g2, w2))           // v ← lerp(v, g², 1−β2)
                        : Precision.store(dt, Precision.store(dt, vf[i] * beta2) + oneMinusBeta2 * g2);
                double sq = Precision.store(dt, Math.sqrt(vi));
                double denom = Precision.store(dt, Precision.store(dt, sq * scale) + eps);
                double d = Precision.store(dt, mi / denom);
                pf[i] = (float) Precision.store(dt, pi + step * d);                          // p ← p − stepSize·d
                mf[i] = (float) mi;
                vf[i] = (float) vi;
                out[i - from] = (float) Precision.compute(dt, d * d);
            }
        });
    }

    /**
     * {@link #adamRounded} for F32, in float arithmetic: a single +, −, ×, ÷ or √ of floats is the double result
     * rounded to float (see {@link Precision}), so each float line below has the bits of its double line there. The
     * two sums whose second term is a product of two floats, {@code β2·v + (1−β2)·g²} and {@code p − stepSize·d}, are
     * taken in double as there (the exact product, one rounding in double, one to float).
     */
    private static void adamF32(Workers workers, float[] pf, float[] gf, float[] mf, float[] vf, AdamUpdate u,
                                float[][] d2) {
        DType dt = DType.F32;
        float decay = (float) Precision.scalar(dt, u.decay());
        float w1 = (float) Elementwise.lerpWeight(dt, 1 - u.beta1()), w2 = (float) Elementwise.lerpWeight(dt, 1 - u.beta2());
        float beta2 = (float) Precision.scalar(dt, u.beta2()), oneMinusBeta2 = (float) Precision.compute(dt, 1 - u.beta2());
        float scale = (float) Precision.scalar(dt, u.denomScale()), eps = (float) Precision.scalar(dt, u.eps());
        float step = (float) Precision.compute(dt, -u.stepSize());
        boolean lerpV = u.lerpSecondMoment();
        workers.forChunks(pf.length, (from, to) -> {
            float[] out = d2[from / Workers.CHUNK] = new float[to - from];
            for (int i = from; i < to; i++) {
                float gi = gf[i];
                float pi = pf[i] * decay;                                                    // p ← decay·p
                float mi = lerp(mf[i], gi, w1);                                              // m ← lerp(m, g, 1−β1)
                float g2 = gi * gi;                                                          // g⊙g
                float vi = lerpV ? lerp(vf[i], g2, w2)                                       // v ← lerp(v, g², 1−β2)
                        : (float) ((double) (vf[i] * beta2) + (double) oneMinusBeta2 * g2);
                float d = mi / ((float) Math.sqrt(vi) * scale + eps);
                pf[i] = (float) (pi + (double) step * d);                                    // p ← p − stepSize·d
                mf[i] = mi;
                vf[i] = vi;
                out[i - from] = d * d;
            }
        });
    }

    /** {@link Elementwise#lerp} for F32 in float arithmetic (the same two branches, the same bits). */
    private static float lerp(float a, float b, float w) {
        float diff = b - a;
        return Math.abs(w) < 0.5f ? a + w * diff : b - diff * (1f - w);
    }

    /**
     * Per matrix of {@code x [..., M, N]}: {@code √(Σ x²)} as {@link Reductions#frobeniusNorm}, stored in out; the
     * matrices on the workers, each summed on one thread in element order.
     */
    static void frobeniusNorms(Workers workers, CpuTensor x, CpuTensor out) {
        DType dt = x.dtype();
        int[] s = x.shapeRef();
        int size = s[s.length - 2] * s[s.length - 1];
        workers.runAll(out.n, x.n, b -> {
            double acc = 0;
            if (x.f != null) {
                acc = Reductions.sumSquares(x.f, b * size, (b + 1) * size);
            } else {
                for (int i = b * size; i < (b + 1) * size; i++) {
                    double v = x.at(i);
                    acc = Precision.compute(dt, acc + Precision.compute(dt, v * v));
                }
            }
            out.put(b, Precision.compute(dt, Math.sqrt(acc)));
        });
    }
}
