package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

/**
 * The one rule for a sum of squares and the norms built on it (update RMS, gradient clipping, weight RMS): summed
 * in fp32 or wider and returned as a double. A BF16 tensor is widened first: its sum rounded to bf16 would be off by
 * up to 0.4%.
 */
public final class Norms {

    private Norms() {
    }

    /** {@code Σx²}. */
    public static double sumSquares(Backend be, Tensor x) {
        if (x.dtype() == DType.BF16) {
            try (Tensor wide = be.cast(x, DType.F32)) {
                return sumSquares(be, wide);
            }
        }
        try (Tensor ss = be.sumSquares(x)) {
            return be.item(ss);
        }
    }

    /** {@code √(Σx² / n)}. */
    public static double rms(Backend be, Tensor x) {
        return Math.sqrt(sumSquares(be, x) / x.numel());
    }
}
