package moonlight4j.cpu;

import moonlight4j.api.Bf16;

/**
 * Float loops for the commonest element-wise ops on F32/BF16 storage, one loop per op (C2 vectorises each), used
 * when no broadcasting is needed. Bits are those of {@link Elementwise}'s double evaluation: a single +, −, ×, ÷
 * of two floats rounded to float is the same whether computed in float or in double and then rounded
 * ({@link Precision}), and BF16 then rounds the float once ({@link Bf16#roundInPlace}).
 */
final class FloatLoops {

    private FloatLoops() {
    }

    /** {@code out = a op b} for op add, sub, mul or div; every array holds at least n elements. */
    static void binary(String op, float[] a, float[] b, float[] out, int n, boolean bf16) {
        switch (op) {
            case "add" -> {
                for (int i = 0; i < n; i++) out[i] = a[i] + b[i];
            }
            case "sub" -> {
                for (int i = 0; i < n; i++) out[i] = a[i] - b[i];
            }
            case "mul" -> {
                for (int i = 0; i < n; i++) out[i] = a[i] * b[i];
            }
            case "div" -> {
                for (int i = 0; i < n; i++) out[i] = a[i] / b[i];
            }
            default -> throw new IllegalArgumentException("FloatLoops.binary: no loop for " + op);
        }
        if (bf16) Bf16.roundInPlace(out, 0, n);
    }

    /** {@code out = x + s} (addScalar) or {@code x · s} (mulScalar), s already converted to the tensor dtype. */
    static void scalar(String op, float[] x, float s, float[] out, int n, boolean bf16) {
        switch (op) {
            case "addScalar" -> {
                for (int i = 0; i < n; i++) out[i] = x[i] + s;
            }
            case "mulScalar" -> {
                for (int i = 0; i < n; i++) out[i] = x[i] * s;
            }
            default -> throw new IllegalArgumentException("FloatLoops.scalar: no loop for " + op);
        }
        if (bf16) Bf16.roundInPlace(out, 0, n);
    }
}
