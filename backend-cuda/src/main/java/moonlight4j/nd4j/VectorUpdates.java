package moonlight4j.nd4j;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The F32 Adam update of {@link HostUpdates#adam} on the JDK's Vector API ({@code jdk.incubator.vector}): the same
 * bits as {@link HostUpdates.Adam32#run}, several elements per instruction.
 *
 * <p><b>Same bits.</b> Every operation of the scalar loop is one lane-wise operation here, in the same order, and
 * the Vector API fuses nothing unless asked ({@code fma}): fp32 {@code mul}, {@code add}, {@code sub}, {@code div}
 * round as Java's float operators do. The steps the scalar loop takes in double, an axpy's {@code a + α·b} rounded
 * once to fp32, are widened to double lanes ({@code F2D}), computed there and narrowed ({@code D2F}, round to
 * nearest even as Java's {@code (float)} cast). {@code sqrt} on fp32 lanes is the correctly rounded square root,
 * which is what {@code (float) Math.sqrt(v)} gives: a double carries more than 2·24 + 2 bits, so rounding √v to
 * double first cannot move it to the other side of an fp32 rounding boundary. lerp's branch depends only on the
 * weight, so it is taken once per block. {@code Σd²} stays an fp32 sum in element order: the loop stores d² per
 * element and a scalar loop adds them up after it. The elements past the last whole vector go through the scalar
 * loop.
 *
 * <p><b>Speed.</b> Single-threaded, on 2,048-element blocks copied in and out of 16 MB arrays (as
 * {@link HostKernels#map} does), 2-core AMD EPYC with AVX-512, JDK 17: 3.0 ns per element against 4.9 for the scalar
 * loop; the copies alone take 1.55 ns and the in-order sum 0.9.
 *
 * <p>Float lanes are paired with double lanes of the same count: 8 floats in 256 bits with 8 doubles in 512 on
 * AVX-512, 4 and 4 on AVX2. Loading this class needs the module; {@link HostKernels#VECTOR} checks for it first.
 */
final class VectorUpdates {

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F =
            VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    private VectorUpdates() {
    }

    /** Lanes per vector on this machine (8 on AVX-512, 4 on AVX2). */
    static int lanes() {
        return D.length();
    }

    /**
     * {@link HostUpdates.Adam32#run} over a whole block {@code [0, n)}, F32 ({@code !c.bf16()}): slots 0–3 are p, m,
     * v, g, slot 4 scratch for d².
     */
    static float adam(float[][] s, int n, float acc, HostUpdates.Adam32 c) {
        float[] pf = s[0], mf = s[1], vf = s[2], gf = s[3], d2 = s[4];
        float decay = c.decay(), w1 = c.w1(), w2 = c.w2(), beta2 = c.beta2(), scale = c.scale(), eps = c.eps();
        double oneMinusBeta2 = c.oneMinusBeta2(), step = c.step();
        boolean lerpV = c.lerpV(), w1Small = Math.abs(w1) < 0.5f, w2Small = Math.abs(w2) < 0.5f;
        float w1c = 1.0f - w1, w2c = 1.0f - w2;
        int bound = F.loopBound(n);
        for (int i = 0; i < bound; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gf, i);
            FloatVector p = FloatVector.fromArray(F, pf, i).mul(decay);                        // p ← decay·p
            FloatVector m = lerp(FloatVector.fromArray(F, mf, i), g, w1, w1c, w1Small);       // m ← lerp(m, g, 1−β1)
            FloatVector g2 = g.mul(g);                                                          // g⊙g
            FloatVector v = FloatVector.fromArray(F, vf, i);
            v = lerpV
                    ? lerp(v, g2, w2, w2c, w2Small)                                             // v ← lerp(v, g², 1−β2)
                    : narrow(widen(v.mul(beta2)).add(widen(g2).mul(oneMinusBeta2)));           // v ← β2·v + (1−β2)·g²
            FloatVector d = m.div(v.sqrt().mul(scale).add(eps));                               // d = m / (√v·s + eps)
            narrow(widen(p).add(widen(d).mul(step))).intoArray(pf, i);                         // p ← p − stepSize·d
            m.intoArray(mf, i);
            v.intoArray(vf, i);
            d.mul(d).intoArray(d2, i);
        }
        for (int i = 0; i < bound; i++) acc += d2[i];
        return c.run(s, bound, n, acc);
    }

    /** {@link HostUpdates#lerp} lane-wise; {@code small} is {@code |w| < 0.5}, {@code wc} is {@code 1 − w} in fp32. */
    private static FloatVector lerp(FloatVector a, FloatVector b, float w, float wc, boolean small) {
        return small ? a.add(b.sub(a).mul(w)) : b.sub(b.sub(a).mul(wc));
    }

    private static DoubleVector widen(FloatVector x) {
        return (DoubleVector) x.convertShape(VectorOperators.F2D, D, 0);
    }

    private static FloatVector narrow(DoubleVector x) {
        return (FloatVector) x.convertShape(VectorOperators.D2F, F, 0);
    }
}
