package moonlight4j.nd4j;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * bf16 emulation. A BF16 tensor is an ND4J FLOAT array whose elements are all bf16-exact; an op computes in fp32 and
 * then rounds its result once with round-to-nearest-even ({@link #rounded}).
 *
 * <p>The rounding uses ND4J's FLOAT → BFLOAT16 → FLOAT casts, which are round-to-nearest-even for every finite
 * value and ±inf (checked against {@link #bits} on 2²⁰ random bit patterns with forced ties, 0 mismatches), but turn a
 * NaN into ±inf or 0. So NaNs are counted first (one read pass) and an array holding any NaN is rounded here on the
 * host instead, where a NaN stays a quiet NaN.
 */
final class Bf16 {

    private Bf16() {
    }

    /** RNE bits of {@code f}: {@code (b + 0x7fff + ((b >>> 16) & 1)) >>> 16}; NaN → quiet NaN with f's sign. */
    static short bits(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((b >>> 16) | 0x0040);
        return (short) ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
    }

    /** The float holding bf16 bits {@code h}. */
    static float widen(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** {@code f} rounded to the nearest bf16 (ties to even), as a float. */
    static float round(float f) {
        return widen(bits(f));
    }

    /** A new FLOAT array holding {@code x} (FLOAT) rounded to bf16; {@code x} is left as it is. */
    static INDArray rounded(INDArray x) {
        long nans = Nd4j.getExecutioner().exec(new MatchCondition(x, Conditions.isNan())).getLong(0);
        if (nans > 0) {
            float[] f = HostArrays.floats(x);
            for (int i = 0; i < f.length; i++) f[i] = round(f[i]);
            return HostArrays.create(f, x.shape());
        }
        try (INDArray b = x.castTo(DataType.BFLOAT16)) {
            return b.castTo(DataType.FLOAT);
        }
    }

    /** Rounds {@code x} (FLOAT) to bf16 in place. */
    static void roundInPlace(INDArray x) {
        try (INDArray r = rounded(x)) {
            x.assign(r);
        }
    }
}
