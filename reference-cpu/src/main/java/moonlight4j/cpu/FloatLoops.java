package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.Bf16Lanes;

/**
 * Float loops for the commonest element-wise ops on F32/BF16 storage, one loop per op (C2 vectorises the
 * same-shape ones), with and without broadcasting. Bits are those of {@link Elementwise}'s double evaluation: a
 * single +, −, ×, ÷ of two floats rounded to float is the same whether computed in float or in double and then rounded
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

    /**
     * {@code out = s·x + y} as mulScalar then add: per chunk the products, rounded as mulScalar rounds them (BF16: to
     * bf16), then the sums, rounded as add rounds them, while the chunk is still in cache; the bits of the two ops.
     */
    static void scaleAdd(Workers workers, float[] x, float s, float[] y, float[] out, int n, boolean bf16) {
        workers.forChunks(n, (from, to) -> {
            for (int i = from; i < to; i++) out[i] = x[i] * s;
            if (bf16) roundBf16InPlace(out, from, to);
            for (int i = from; i < to; i++) out[i] = out[i] + y[i];
            if (bf16) roundBf16InPlace(out, from, to);
        });
    }

    /**
     * {@code out = a op b} with broadcasting (op add, sub, mul or div; a, b, out F32 or BF16 of one dtype, out already
     * of the broadcast shape): row by row of out's last dim, where each operand either runs along (stride 1) or
     * repeats one element (stride 0) — the per-matrix norm of a stack, a per-row weight.
     */
    static void broadcast(Workers workers, String op, CpuTensor a, CpuTensor b, CpuTensor out, boolean bf16) {
        int[] so = out.shapeRef();
        int r = so.length, len = r == 0 ? 1 : so[r - 1];
        if (out.n == 0 || len == 0) return;
        int[] sa = Elementwise.broadcastStrides(a.shapeRef(), so), sb = Elementwise.broadcastStrides(b.shapeRef(), so);
        int da = r == 0 ? 0 : sa[r - 1], db = r == 0 ? 0 : sb[r - 1];
        workers.forRows(out.n / len, len, (from, to) -> {        // blocks of rows on the workers
            // the rows are the index over all dims but the last, starting at the block's first row
            Elementwise.Odometer it = new Elementwise.Odometer(so, sa, sb, Math.max(r - 1, 0), from);
            for (int o = from * len; o < to * len; o += len, it.next()) {
                row(op, a.f, it.ia, da, b.f, it.ib, db, out.f, o, len);
            }
            if (bf16) roundBf16InPlace(out.f, from * len, to * len);
        });
    }

    /** {@code out[o + j] = a[ia + j·da] op b[ib + j·db]} for j &lt; len. */
    private static void row(String op, float[] a, int ia, int da, float[] b, int ib, int db, float[] out, int o, int len) {
        switch (op) {
            case "add" -> {
                for (int j = 0; j < len; j++) out[o + j] = a[ia + j * da] + b[ib + j * db];
            }
            case "sub" -> {
                for (int j = 0; j < len; j++) out[o + j] = a[ia + j * da] - b[ib + j * db];
            }
            case "mul" -> {
                for (int j = 0; j < len; j++) out[o + j] = a[ia + j * da] * b[ib + j * db];
            }
            case "div" -> {
                for (int j = 0; j < len; j++) out[o + j] = a[ia + j * da] / b[ib + j * db];
            }
            default -> throw new IllegalArgumentException("FloatLoops.broadcast: no loop for " + op);
        }
    }

    /** {@link Bf16#roundInPlace}, on the Vector API where the GEMM's tiles use it ({@link Bf16Lanes}: the same bits). */
    static void roundBf16InPlace(float[] a, int from, int to) {
        if (Gemm.VECTOR) Bf16Lanes.roundInPlace(a, from, to);
        else Bf16.roundInPlace(a, from, to);
    }

    /** The loop in fixed chunks on the workers, each chunk rounded to bf16 right after it is computed (still in cache). */
    private static void run(Workers workers, Workers.Range loop, float[] out, int n, boolean bf16) {
        workers.forChunks(n, (from, to) -> {
            loop.run(from, to);
            if (bf16) roundBf16InPlace(out, from, to);
        });
    }
}
