package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.Arrays;

/**
 * The additive attention mask of the eager path (docs/model.md#forward-pass): 0 where key ≤ query,
 * {@code finfo(dtype).min} elsewhere, optionally combined with a caller's additive mask {@code (B, 1, T, T)}. Combined
 * entries are clamped at {@code finfo(dtype).min} so that two masked terms never sum to −∞ (which could make a softmax
 * row NaN).
 */
public final class AttentionMask {

    /** {@code torch.finfo(torch.float32).min}. */
    public static final double F32_MIN = -Float.MAX_VALUE;
    /** {@code torch.finfo(torch.bfloat16).min} = −(2 − 2⁻⁷)·2¹²⁷. */
    public static final double BF16_MIN = -Float.intBitsToFloat(0x7f7f0000);

    private AttentionMask() {
    }

    /** {@code finfo(dtype).min} for a floating model dtype. */
    public static double minValue(DType dtype) {
        return switch (dtype) {
            case F32 -> F32_MIN;
            case BF16 -> BF16_MIN;
            case F64 -> -Double.MAX_VALUE;
            default -> throw new IllegalArgumentException("attention mask: no floating minimum for " + dtype);
        };
    }

    /**
     * The causal mask {@code (1, 1, T, T)}, or, with {@code extra (B, 1, T, T)} additive, {@code (B, 1, T, T)} =
     * max(causal + extra, finfo.min), in {@code dtype}.
     */
    public static Tensor causal(Backend be, DType dtype, int t, Tensor extra) {
        double min = minValue(dtype);
        int b = 1;
        double[] add = null;
        if (extra != null) {
            int[] s = extra.shape();
            if (s.length != 4 || s[1] != 1 || s[2] != t || s[3] != t) {
                throw new IllegalArgumentException("attention mask: expected (B, 1, " + t + ", " + t + "), got "
                        + Arrays.toString(s));
            }
            b = s[0];
            add = be.toDoubles(extra);
        }
        double[] m = new double[b * t * t];
        for (int n = 0; n < b; n++) {
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < t; j++) {
                    int at = (n * t + i) * t + j;
                    double v = j <= i ? 0.0 : min;
                    if (add != null) v = Math.max(v + add[at], min);
                    m[at] = v;
                }
            }
        }
        Tensor f64 = be.fromDoubles(m, b, 1, t, t);
        Tensor out = be.cast(f64, dtype);
        f64.close();
        return out;
    }
}
