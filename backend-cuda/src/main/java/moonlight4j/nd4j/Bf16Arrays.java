package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.conditions.Conditions;


/**
 * bf16 emulation. A BF16 tensor is an ND4J FLOAT array whose elements are all bf16-exact; an op computes in fp32 and
 * then rounds its result once with round-to-nearest-even ({@link #rounded}).
 *
 * <p>The rounding uses ND4J's FLOAT → BFLOAT16 → FLOAT casts, which are round-to-nearest-even for every finite
 * value and ±inf (checked against {@link Bf16#toBits} on 2²⁰ random bit patterns with forced ties, 0 mismatches), but turn a
 * NaN into ±inf or 0; and a NaN count costs more than the rounding itself. So on the CPU backend the rounding is
 * done on the array's native memory with the bits of {@link Bf16#round} ({@link HostBits}); the casts (after a NaN
 * count) serve views and GPU arrays.
 */
final class Bf16Arrays {

    private Bf16Arrays() {
    }

    /** A new FLOAT array holding {@code x} (FLOAT) rounded to bf16; {@code x} is left as it is. */
    static INDArray rounded(INDArray x) {
        INDArray y = x.dup('c');
        roundInPlace(y);
        return y;
    }

    /**
     * Rounds {@code x} (FLOAT) to bf16 in place. On the CPU backend an array that owns its whole buffer is rounded
     * by {@link Bf16#toBits} directly in its native memory (one pass, NaN-safe, split over the cores for large arrays);
     * otherwise (views, GPU memory) by ND4J's casts, after a NaN count.
     */
    static void roundInPlace(INDArray x) {
        if (x.isEmpty()) return;
        if (HostBits.applies(x)) {
            HostBits.roundToBf16(x);
            return;
        }
        if (Reductions.count(x, Conditions.isNan()) > 0) {
            float[] f = HostArrays.floats(x);
            for (int i = 0; i < f.length; i++) f[i] = Bf16.round(f[i]);
            try (INDArray r = HostArrays.create(f, x.shape())) {
                x.assign(r);
            }
            return;
        }
        try (INDArray b = x.castTo(DataType.BFLOAT16); INDArray r = b.castTo(DataType.FLOAT)) {
            x.assign(r);
        }
    }
}
