package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;

/**
 * The two roundings of the oracle's precision model (Backend Javadoc "Precision"), one code path for all floating
 * dtypes: kernels compute in double and call {@link #compute} where PyTorch would hold an fp32 intermediate, and
 * {@link #store} where an op writes its result.
 *
 * <ul>
 *   <li>F64: both are the identity (fp64 arithmetic).</li>
 *   <li>F32: both round to float. A single +, −, ×, ÷ or √ of two floats done in double and rounded to float gives
 *       the correctly rounded fp32 result (53 ≥ 2·24 + 2), so this is fp32 arithmetic.</li>
 *   <li>BF16: compute rounds to float (fp32 arithmetic); store rounds that float to bf16 (nearest even).</li>
 * </ul>
 */
final class Precision {

    private Precision() {
    }

    /** {@code v} at the compute precision of {@code dtype}: fp32 for F32 and BF16, fp64 for F64. */
    static double compute(DType dtype, double v) {
        return dtype == DType.F64 ? v : (float) v;
    }

    /** {@code v} rounded to the storage of {@code dtype} (BF16: to float, then to bf16). */
    static double store(DType dtype, double v) {
        return switch (dtype) {
            case F64 -> v;
            case F32 -> (float) v;
            case BF16 -> Bf16.round((float) v);
            default -> throw new IllegalArgumentException("not a floating dtype: " + dtype);
        };
    }

    /** A Python-style scalar converted to {@code dtype} (PyTorch casts a scalar to the tensor dtype first). */
    static double scalar(DType dtype, double s) {
        return store(dtype, s);
    }
}
