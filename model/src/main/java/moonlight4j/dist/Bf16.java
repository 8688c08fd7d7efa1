package moonlight4j.dist;

/** bf16 bit conversions of the collectives (fp32 accumulation, one rounding; DType BF16 semantics). */
final class Bf16 {

    private Bf16() {
    }

    /** The fp32 value of bf16 bits (exact). */
    static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** fp32 → bf16 bits, round-to-nearest-even; NaN stays a (quiet) NaN. */
    static short round(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((b >>> 16) | 0x40);
        b += 0x7FFF + ((b >>> 16) & 1);
        return (short) (b >>> 16);
    }

    static float[] widen(short[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = toFloat(bits[i]);
        return out;
    }

    static void roundInto(float[] src, short[] dst) {
        for (int i = 0; i < src.length; i++) dst[i] = round(src[i]);
    }
}
