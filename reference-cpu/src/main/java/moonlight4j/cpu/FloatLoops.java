package moonlight4j.cpu;

import moonlight4j.api.Bf16;

/**
 * Float loops for the commonest element-wise ops on F32/BF16 storage, one loop per op (C2 vectorises each), used
 * when no broadcasting is needed. Bits are those of {@link Elementwise}'s double evaluation: a single +, −, ×, ÷
 * of two floats rounded to float is the same whether computed in float or in double and then rounded
 * ({@link Precision}), and BF16 then rounds the float once ({@link Bf16#roundInPlace}). Large loops run in fixed
 * chunks on the {@link Workers}: every element is computed alone, so the bits do not depend on the chunking.
 */
final class FloatLoops {

    private FloatLoops() {
    }

    /** {@code out = a op b} for op add, sub, mul or div; every array holds at least n elements. */
    static void binary(Workers workers, String op, float[] a, float[] b, float[] out, int n, boolean bf16) {
        Workers.Range loop = switch (op) {
            case "add" -> (from, to) -> {
                for (int i = from; i < to; i++) out[i] = a[i] + b[i];
            };
            case "sub" -> (from, to) -> {
                for (int i = from; i < to; i++) out[i] = a[i] - b[i];
            };
            case "mul" -> (from, to) -> {
                for (int i = from; i < to; i++) out[i] = a[i] * b[i];
            };
            case "div" -> (from, to) -> {
                for (int i = from; i < to; i++) out[i] = a[i] / b[i];
            };
            default -> throw new IllegalArgumentException("FloatLoops.binary: no loop for " + op);
        };
        run(workers, loop, out, n, bf16);
    }

    /** {@code out = x + s} (addScalar) or {@code x · s} (mulScalar), s already converted to the tensor dtype. */
    static void scalar(Workers workers, String op, float[] x, float s, float[] out, int n, boolean bf16) {
        Workers.Range loop = switch (op) {
            case "addScalar" -> (from, to) -> {
                for (int i = from; i < to; i++) out[i] = x[i] + s;
            };
            case "mulScalar" -> (from, to) -> {
                for (int i = from; i < to; i++) out[i] = x[i] * s;
            };
            default -> throw new IllegalArgumentException("FloatLoops.scalar: no loop for " + op);
        };
        run(workers, loop, out, n, bf16);
    }

    /** The loop in fixed chunks on the workers, each chunk rounded to bf16 right after it is computed (still in cache). */
    private static void run(Workers workers, Workers.Range loop, float[] out, int n, boolean bf16) {
        workers.forChunks(n, (from, to) -> {
            loop.run(from, to);
            if (bf16) Bf16.roundInPlace(out, from, to);
        });
    }
}
