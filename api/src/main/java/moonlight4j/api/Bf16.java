package moonlight4j.api;

/**
 * bfloat16 as PyTorch stores it: the top 16 bits of an IEEE fp32. Conversion from fp32 rounds to nearest, ties to
 * even, on the bit pattern: {@code bits16 = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16} — which also carries a mantissa
 * overflow into the exponent (so the largest finite values round up to ±Inf) and keeps ±Inf and subnormals exact.
 * A NaN stays a NaN: its payload is truncated and the quiet bit set, so it never rounds to Inf.
 *
 * <p>The one implementation every module uses: the oracle and the nd4j backend keep BF16 tensors as floats holding
 * only bf16-representable values ({@link #round} is the storage rounding of every BF16 op result), and the
 * collective engines move bf16 bits ({@link #toBits}, {@link #widen}, {@link #roundInto}).
 */
public final class Bf16 {

    private Bf16() {
    }

    /** The bf16 bit pattern nearest to {@code f} (round-to-nearest-even; NaN → quiet NaN of the same sign). */
    public static short toBits(float f) {
        int b = Float.floatToRawIntBits(f);
        if ((b & 0x7fffffff) > 0x7f800000) {                 // NaN: keep sign and top payload, force quiet bit
            return (short) ((b >>> 16) | 0x0040);
        }
        return (short) ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
    }

    /** The fp32 value of a bf16 bit pattern (exact). */
    public static float fromBits(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** {@code f} rounded to the nearest bf16 value, returned as a float. */
    public static float round(float f) {
        return fromBits(toBits(f));
    }

    /** {@code a[from, to)} rounded to bf16 in place, element by element exactly as {@link #round}. */
    public static void roundInPlace(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            int b = Float.floatToRawIntBits(a[i]);
            int bits = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x0040 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
            a[i] = Float.intBitsToFloat(bits << 16);
        }
    }

    /** True when {@code f} is exactly representable as bf16 (its low 16 bits are zero). */
    public static boolean isBf16(float f) {
        return (Float.floatToRawIntBits(f) & 0xffff) == 0;
    }

    /** The fp32 values of bf16 bit patterns (exact). */
    public static float[] widen(short[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = fromBits(bits[i]);
        return out;
    }

    /** {@code dst[i] = toBits(src[i])}. */
    public static void roundInto(float[] src, short[] dst) {
        for (int i = 0; i < src.length; i++) dst[i] = toBits(src[i]);
    }
}
