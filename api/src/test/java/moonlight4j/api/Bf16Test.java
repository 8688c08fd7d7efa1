package moonlight4j.api;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;

/**
 * bf16 rounding is round-to-nearest-even (ties, NaN, Inf, subnormals), checked against an independent reference
 * that works on exact decimal values: the two bf16 neighbours of x are found by truncation, and the nearer one
 * (by exact {@link BigDecimal} distance; on a tie the one with an even last mantissa bit) must be chosen.
 */
class Bf16Test {

    /** Independent reference: exact-arithmetic nearest bf16 (ties to even), overflow to ±Inf, NaN kept NaN. */
    static float referenceRound(float x) {
        if (Float.isNaN(x) || Float.isInfinite(x) || x == 0f) return x;
        int bits = Float.floatToRawIntBits(x);
        float down = Float.intBitsToFloat(bits & 0xffff0000);          // truncation toward zero: |down| ≤ |x|
        int downBits = Float.floatToRawIntBits(down);
        if (down == x) return x;
        // the next bf16 away from zero; past the largest finite bf16 this is ±Inf (exponent all ones, mantissa 0)
        float up = Float.intBitsToFloat(downBits + 0x10000);
        BigDecimal ex = new BigDecimal(x), dDown = ex.subtract(new BigDecimal(down)).abs();
        BigDecimal dUp = Float.isInfinite(up)
                // distance to "the next value" 2^128 that bf16 rounding would overflow to
                ? new BigDecimal(2).pow(128).multiply(BigDecimal.valueOf(Math.signum(x))).subtract(ex).abs()
                : new BigDecimal(up).subtract(ex).abs();
        int c = dDown.compareTo(dUp);
        if (c < 0) return down;
        if (c > 0) return up;
        return ((downBits >>> 16) & 1) == 0 ? down : up;              // tie: even last mantissa bit
    }

    @Test
    void roundingOfEveryKindOfFloatEqualsTheExactReference() {
        qt().withExamples(200_000).forAll(integers().all()).check(bits -> {
            float x = Float.intBitsToFloat(bits);
            float r = Bf16.round(x);
            float ref = referenceRound(x);
            if (Float.isNaN(x)) return Float.isNaN(r);
            return Float.floatToRawIntBits(r) == Float.floatToRawIntBits(ref);
        });
    }

    @Test
    void subnormalsRoundExactly() {
        // bit patterns with exponent 0 (subnormal floats), all mantissas reachable
        qt().withExamples(50_000).forAll(integers().between(0, 0x7fffff), integers().between(0, 1)).check((m, s) -> {
            float x = Float.intBitsToFloat((s << 31) | m);
            return Float.floatToRawIntBits(Bf16.round(x)) == Float.floatToRawIntBits(referenceRound(x));
        });
    }

    @Test
    void tiesGoToEven() {
        // exactly halfway between two bf16 values: low 16 bits 0x8000
        qt().withExamples(50_000).forAll(integers().between(0, 0x7f7f)).check(hi -> {
            float x = Float.intBitsToFloat((hi << 16) | 0x8000);
            short r = Bf16.toBits(x);
            int expected = (hi & 1) == 0 ? hi : hi + 1;
            return (r & 0xffff) == expected;
        });
        assertThat(Bf16.round(1f + 0x1p-8f)).isEqualTo(1f);                 // tie, 1.0 has even mantissa
        assertThat(Bf16.round(1f + 3 * 0x1p-8f)).isEqualTo(1f + 0x1p-6f);   // tie, rounds up to even
    }

    @Test
    void nanStaysQuietNanAndInfinitiesAndZerosAreExact() {
        assertThat(Float.isNaN(Bf16.round(Float.NaN))).isTrue();
        // a NaN whose payload lives only in the low 16 bits must not become Inf
        float lowPayloadNan = Float.intBitsToFloat(0x7f800001);
        assertThat(Float.isNaN(Bf16.round(lowPayloadNan))).isTrue();
        assertThat(Bf16.toBits(lowPayloadNan) & 0x0040).isEqualTo(0x0040);
        assertThat(Float.isNaN(Bf16.round(Float.intBitsToFloat(0xffffffff)))).isTrue();
        assertThat(Bf16.round(Float.POSITIVE_INFINITY)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Bf16.round(Float.NEGATIVE_INFINITY)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(Float.floatToRawIntBits(Bf16.round(-0f))).isEqualTo(0x80000000);
        assertThat(Bf16.round(0f)).isEqualTo(0f);
    }

    @Test
    void overflowRoundsToInfinity() {
        float maxBf16 = Bf16.fromBits((short) 0x7f7f);                       // 3.3895314e38
        assertThat(Bf16.round(Float.MAX_VALUE)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Bf16.round(-Float.MAX_VALUE)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(Bf16.round(Math.nextDown(maxBf16 + 0x1p119f))).isEqualTo(maxBf16);   // below the halfway point
        assertThat(Bf16.round(Float.intBitsToFloat(0x7f7f8000))).isEqualTo(Float.POSITIVE_INFINITY); // tie → even = Inf
    }

    @Test
    void bitsRoundTrip() {
        qt().withExamples(20_000).forAll(integers().between(0, 0xffff)).check(b -> {
            short s = (short) (int) b;
            float f = Bf16.fromBits(s);
            if (Float.isNaN(f)) return Float.isNaN(Bf16.fromBits(Bf16.toBits(f)));
            return Bf16.toBits(f) == s && Bf16.isBf16(f);
        });
    }

    @Test
    void roundInPlaceGivesTheBitsOfRound() {
        java.util.Random r = new java.util.Random(11);
        float[] a = new float[1 << 16];
        for (int i = 0; i < a.length; i++) a[i] = Float.intBitsToFloat(r.nextInt());
        a[0] = Float.NaN;
        a[1] = Float.intBitsToFloat(0x7f800001);                  // NaN with the payload in the low bits only
        a[2] = Float.POSITIVE_INFINITY;
        a[3] = Float.intBitsToFloat(0x3f808000);                  // a tie
        float[] b = a.clone();
        Bf16.roundInPlace(b, 0, b.length);
        for (int i = 0; i < a.length; i++) {
            assertThat(Float.floatToRawIntBits(b[i])).as("element %d", i).isEqualTo(Float.floatToRawIntBits(Bf16.round(a[i])));
        }
    }
}
