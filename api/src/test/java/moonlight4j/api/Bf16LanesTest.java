package moonlight4j.api;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Bf16Lanes} against {@link Bf16}'s scalar rounding (the test runs add the Vector API's module). */
class Bf16LanesTest {

    @Test
    void vectorBf16RoundingEqualsTheScalarRoundingOnEveryKindOfBitPattern() {
        // random bit patterns (every exponent, subnormals, NaN payloads of both signs), ties to even at every
        // exponent, the largest finite values (they round to infinity), infinities and zeros; ranges that start
        // and end off the vector length
        Random r = new Random(17);
        float[] x = new float[40_000];
        for (int i = 0; i < x.length; i++) {
            int bits = switch (i % 5) {
                case 0 -> r.nextInt();
                case 1 -> (r.nextInt() & 0xffff0000) | 0x8000;                       // a tie
                case 2 -> (r.nextInt() & 0xffff0000) | 0x8000 | (r.nextInt(2) << 16);  // a tie, odd or even
                case 3 -> 0x7f800000 | (r.nextInt() & 0x807fffff);                   // NaN or infinity
                default -> new int[]{0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x8000ffff}[r.nextInt(8)];
            };
            x[i] = Float.intBitsToFloat(bits);
        }
        for (int[] range : new int[][]{{0, x.length}, {3, x.length - 5}, {7, 12}}) {
            float[] scalar = x.clone(), vector = x.clone();
            Bf16.roundInPlace(scalar, range[0], range[1]);
            Bf16Lanes.roundInPlace(vector, range[0], range[1]);
            for (int i = 0; i < x.length; i++) {
                assertThat(Float.floatToRawIntBits(vector[i])).as("element %d of %s, bits %08x", i,
                        java.util.Arrays.toString(range), Float.floatToRawIntBits(x[i]))
                        .isEqualTo(Float.floatToRawIntBits(scalar[i]));
            }
        }
    }

    @Test
    void aRoundedVectorHoldsTheScalarRoundingOfEachLane() {
        float[] x = new float[Bf16Lanes.lanes()];
        Random r = new Random(3);
        for (int i = 0; i < x.length; i++) x[i] = Float.intBitsToFloat(i == 1 ? 0x7fc01234 : r.nextInt());
        float[] out = new float[x.length];
        Bf16Lanes.round(jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, x, 0))
                .intoArray(out, 0);
        for (int i = 0; i < x.length; i++) {
            assertThat(Float.floatToRawIntBits(out[i])).as("lane %d", i).isEqualTo(Float.floatToRawIntBits(Bf16.round(x[i])));
        }
    }
}
