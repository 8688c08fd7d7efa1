package moonlight4j.nccl;

/** bf16 bits ↔ fp32 for the BF16 collectives: widen exactly, reduce in fp32, round once (DType BF16 semantics). */
final class Bf16Bits {

    private Bf16Bits() {
    }

    /** The fp32 value of bf16 bits {@code h} (exact): {@code h} in the high half of the fp32 word. */
    static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** fp32 → bf16 bits, round-to-nearest-even: {@code (b + 0x7FFF + ((b >>> 16) & 1)) >>> 16}; NaN → quiet NaN. */
    static short round(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((b >>> 16) | 0x40);
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
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
