package moonlight4j.api;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Bf16#round} lane by lane on the JDK's Vector API ({@code jdk.incubator.vector}): the same integer
 * arithmetic on the float's bits, so the same bits. Round to nearest even is {@code (b + 0x7fff + lsb) & 0xffff0000}
 * with lsb bit 16 of b (the scalar's {@code >>> 16} then {@code << 16}), and a NaN keeps its sign and top payload
 * with the quiet bit set, {@code (b & 0xffff0000) | 0x00400000}. The scalar loop's branch on NaN keeps the JIT from
 * vectorizing it; in the oracle's bf16 Newton–Schulz on the tiny preset it was a quarter of the samples (one
 * thread, JFR).
 *
 * <p>Loading this class needs the module (added with {@code --add-modules jdk.incubator.vector}, as the
 * {@code moonlight} launcher and the test runs do); a caller checks {@code ModuleLayer.boot()} for it first and
 * otherwise uses {@link Bf16#roundInPlace}.
 */
public final class Bf16Lanes {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Bf16Lanes() {
    }

    /** Floats per vector on this machine (16 on AVX-512, 8 on AVX2, 4 on NEON). */
    public static int lanes() {
        return F.length();
    }

    /** Every lane of {@code v} rounded to bf16 as {@link Bf16#round}. */
    public static FloatVector round(FloatVector v) {
        IntVector b = v.reinterpretAsInts();
        IntVector rounded = b.add(0x7fff).add(b.lanewise(VectorOperators.LSHR, 16).and(1)).and(0xffff0000);
        VectorMask<Integer> nan = b.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
        return rounded.blend(b.and(0xffff0000).or(0x00400000), nan).reinterpretAsFloats();
    }

    /** {@link Bf16#roundInPlace}: {@code a[from, to)} rounded to bf16 in place, whole vectors then the rest. */
    public static void roundInPlace(float[] a, int from, int to) {
        int i = from;
        for (int end = to - (to - from) % F.length(); i < end; i += F.length()) {
            round(FloatVector.fromArray(F, a, i)).intoArray(a, i);
        }
        Bf16.roundInPlace(a, i, to);
    }
}
