package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.SwiGluGrads;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The element-wise ops of {@link Elementwise} as {@link HostKernels} passes (nd4j-native, dense arrays), each
 * writing a fresh array from {@link NativeMemory#uninitialized}, BF16 rounded in the same pass. Arithmetic as the
 * oracle's: a single +, −, ×, ÷, √ in the storage precision (fp32 for F32/BF16, fp64 for F64), scalars converted to
 * the dtype first; sigmoid, silu and the two backwards evaluated in double from the (exact) inputs and rounded
 * once; lerp in fp32 steps as PyTorch. Slot 0 of every kernel is the result.
 *
 * <p>Which ops come here: those the host pass makes cheaper. A single IEEE op (+, −, ×, ÷, √, a scalar op) on
 * F32/F64 stays with libnd4j, whose vectorised loop is memory-bound on one thread and measured 2–3× faster than
 * the Java pass with its copies through heap blocks (4M-element add: 1.8–3.6 ms against 5–10 ms, 2 cores at load
 * 3–5); the same bits either way. For BF16 the pass replaces that op plus a separate rounding pass (equal within
 * the noise of that measurement). exp and log stay with libnd4j's vectorised fp32 functions. The multi-op formulas
 * (sigmoid, silu, their backwards, lerp) replace two to five ND4J ops and their temporaries.
 */
final class HostOps {

    private HostOps() {
    }

    /** {@code a ∘ b} with broadcasting, or null when the host pass does not apply (views, GPU). */
    static Tensor binary(Nd4jDataOps be, Elementwise.Op op, Tensor a, Tensor b, int[] out) {
        if (a.dtype() != DType.BF16) return null;                      // libnd4j's loop (see the class comment)
        INDArray A = be.arr(a), B = be.arr(b);
        if (!HostKernels.applies(A, B)) return null;
        INDArray r = HostKernels.fresh(A.dataType(), HostArrays.longs(out));
        if (r == null) return null;
        HostKernels.FloatBlock f = switch (op) {
            case ADD -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] + s[2][i]; return acc; };
            case SUB -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] - s[2][i]; return acc; };
            case MUL -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] * s[2][i]; return acc; };
            case DIV -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] / s[2][i]; return acc; };
        };
        HostKernels.DoubleBlock d = switch (op) {
            case ADD -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] + s[2][i]; return acc; };
            case SUB -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] - s[2][i]; return acc; };
            case MUL -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] * s[2][i]; return acc; };
            case DIV -> (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] / s[2][i]; return acc; };
        };
        HostKernels.broadcast(r, out, A, a.shape(), B, b.shape(), a.dtype() == DType.BF16, f, d);
        return be.wrap(r, a.dtype(), out);
    }

    /** {@code x + s} ({@code add}) or {@code s·x}, s already converted to the dtype; null when not applicable. */
    static Tensor scalar(Nd4jDataOps be, Tensor x, double s, boolean add) {
        if (x.dtype() != DType.BF16) return null;                      // libnd4j's loop (see the class comment)
        float sf = (float) s;
        return add
                ? map(be, x, (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] + sf; return acc; },
                             (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] + s; return acc; })
                : map(be, x, (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] * sf; return acc; },
                             (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] * s; return acc; });
    }

    /**
     * {@code s·x + y} in one pass with BF16's two roundings, the product's and the sum's (s already converted to the
     * dtype); null for F32/F64, whose two libnd4j passes are as fast (see the class comment), or when not applicable.
     */
    static Tensor scaleAdd(Nd4jDataOps be, Tensor x, double s, Tensor y) {
        if (x.dtype() != DType.BF16) return null;
        float sf = (float) s;
        return map(be, x, y,
                (v, n, acc) -> {
                    float[] r = v[0], a = v[1], b = v[2];
                    for (int i = 0; i < n; i++) r[i] = a[i] * sf;
                    HostKernels.roundBf16(r, n);                            // the product as mulScalar stores it
                    for (int i = 0; i < n; i++) r[i] += b[i];              // the sum, rounded by the pass
                    return acc;
                },
                (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] * s + v[2][i]; return acc; });
    }

    /**
     * {@code silu(g) ⊙ u} in one pass, silu as {@link #unary}'s (in double, then to the storage precision and, for
     * BF16, rounded) and the product as {@link #binary}'s; null when not applicable.
     */
    static Tensor swiglu(Nd4jDataOps be, Tensor g, Tensor u) {
        boolean bf16 = g.dtype() == DType.BF16;
        return map(be, g, u,
                (s, n, acc) -> {
                    for (int i = 0; i < n; i++) s[0][i] = silu(s[1][i], bf16) * s[2][i];
                    return acc;
                },
                (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] * sigmoid(s[1][i]) * s[2][i]; return acc; });
    }

    /**
     * {@link moonlight4j.api.Backend#swigluBackward} in one pass: {@code du = dh·silu(g)}, {@code dg =
     * siluBackward(g, dh·u)}, every intermediate rounded as its op rounds; null when not applicable.
     */
    static SwiGluGrads swigluBackward(Nd4jDataOps be, Tensor g, Tensor u, Tensor dh) {
        INDArray G = be.arr(g), U = be.arr(u), DH = be.arr(dh);
        if (!HostKernels.applies(G, U, DH)) return null;
        long[] shape = HostArrays.longs(g.shape());
        INDArray dG = HostKernels.fresh(G.dataType(), shape), dU = HostKernels.fresh(G.dataType(), shape);
        if (dG == null || dU == null) {
            if (dG != null) NativeMemory.discard(dG);
            if (dU != null) NativeMemory.discard(dU);
            return null;
        }
        boolean bf16 = g.dtype() == DType.BF16;
        HostKernels.map(new INDArray[]{dG, dU}, false, new INDArray[]{G, U, DH}, bf16,
                (s, n, acc) -> {                                   // slots: dg, du, g, u, dh
                    for (int i = 0; i < n; i++) {
                        float da = s[4][i] * s[3][i];
                        if (bf16) da = Bf16.round(da);
                        double x = s[2][i], sg = sigmoid(x);          // σ(g) once for silu and its derivative
                        s[1][i] = s[4][i] * silu(x, sg, bf16);
                        s[0][i] = (float) siluBackward(x, sg, da);
                    }
                    return acc;
                },
                (s, n, acc) -> {
                    for (int i = 0; i < n; i++) {
                        double x = s[2][i], sg = sigmoid(x);
                        s[1][i] = s[4][i] * (x * sg);
                        s[0][i] = siluBackward(x, sg, s[4][i] * s[3][i]);
                    }
                    return acc;
                });
        return new SwiGluGrads(be.wrap(dG, g.dtype(), g.shape()), be.wrap(dU, g.dtype(), g.shape()));
    }

    /** {@code silu(x)} as the unary op gives it: evaluated in double, to fp32, then rounded to bf16 when asked. */
    private static float silu(float x, boolean bf16) {
        return silu(x, sigmoid(x), bf16);
    }

    /** {@link #silu(float, boolean)} given {@code s = σ(x)}. */
    private static float silu(double x, double s, boolean bf16) {
        float a = (float) (x * s);
        return bf16 ? Bf16.round(a) : a;
    }

    /** sqrt (BF16), sigmoid {@code 1/(1+e^−x)}, silu {@code x·σ(x)}; null for the others or when not applicable. */
    static Tensor unary(Nd4jDataOps be, String op, Tensor x) {
        return switch (op) {
            case "sqrt" -> x.dtype() != DType.BF16 ? null : map(be, x,
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) Math.sqrt(s[1][i]); return acc; },
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = Math.sqrt(s[1][i]); return acc; });
            case "sigmoid" -> map(be, x,
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) sigmoid(s[1][i]); return acc; },
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = sigmoid(s[1][i]); return acc; });
            case "silu" -> map(be, x,
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) (s[1][i] * sigmoid(s[1][i])); return acc; },
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[1][i] * sigmoid(s[1][i]); return acc; });
            default -> null;
        };
    }

    /** {@code dx = dy·y·(1 − y)} in double; null when not applicable. */
    static Tensor sigmoidBackward(Nd4jDataOps be, Tensor y, Tensor dy) {
        return map(be, y, dy,
                (s, n, acc) -> {
                    for (int i = 0; i < n; i++) {
                        double v = s[1][i];
                        s[0][i] = (float) (s[2][i] * v * (1.0 - v));
                    }
                    return acc;
                },
                (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = s[2][i] * s[1][i] * (1.0 - s[1][i]); return acc; });
    }

    /** {@code dx = dy·σ(x)·(1 + x·(1 − σ(x)))} in double; null when not applicable. */
    static Tensor siluBackward(Nd4jDataOps be, Tensor x, Tensor dy) {
        return map(be, x, dy,
                (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) siluBackward(s[1][i], s[2][i]); return acc; },
                (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = siluBackward(s[1][i], s[2][i]); return acc; });
    }

    /** {@code lerp(a, b, w)} with w already converted to the dtype; null when not applicable. */
    static Tensor lerp(Nd4jDataOps be, Tensor a, Tensor b, double w) {
        return map(be, a, b, lerpFloat(0, 1, 2, (float) w), lerpDouble(0, 1, 2, w));
    }

    /**
     * PyTorch's lerp in fp32 steps: {@code s[out] = a + w·(b − a)} when |w| &lt; 0.5, else {@code b − (b − a)·(1 − w)},
     * with a = s[ia], b = s[ib] (as {@link Elementwise#lerpArrays}).
     */
    static HostKernels.FloatBlock lerpFloat(int out, int ia, int ib, float w) {
        if (Math.abs(w) < 0.5f) {
            return (s, n, acc) -> {
                for (int i = 0; i < n; i++) s[out][i] = s[ia][i] + w * (s[ib][i] - s[ia][i]);
                return acc;
            };
        }
        float oneMinusW = 1.0f - w;
        return (s, n, acc) -> {
            for (int i = 0; i < n; i++) s[out][i] = s[ib][i] - (s[ib][i] - s[ia][i]) * oneMinusW;
            return acc;
        };
    }

    /** {@link #lerpFloat} in fp64. */
    static HostKernels.DoubleBlock lerpDouble(int out, int ia, int ib, double w) {
        if (Math.abs(w) < 0.5) {
            return (s, n, acc) -> {
                for (int i = 0; i < n; i++) s[out][i] = s[ia][i] + w * (s[ib][i] - s[ia][i]);
                return acc;
            };
        }
        double oneMinusW = 1.0 - w;
        return (s, n, acc) -> {
            for (int i = 0; i < n; i++) s[out][i] = s[ib][i] - (s[ib][i] - s[ia][i]) * oneMinusW;
            return acc;
        };
    }

    /**
     * {@code x} in another floating dtype (or copied): widened, narrowed, or rounded to bf16 in the same pass, into a
     * fresh array. Null when not applicable.
     */
    static Tensor cast(Nd4jDataOps be, Tensor x, DType to) {
        INDArray X = be.arr(x);
        if (!HostKernels.applies(X)) return null;
        INDArray r = HostKernels.fresh(HostArrays.storage(to), X.shape());
        if (r == null) return null;
        HostKernels.map(new INDArray[]{r}, false, new INDArray[]{X}, to == DType.BF16 && x.dtype() != DType.BF16,
                (s, n, acc) -> { System.arraycopy(s[1], 0, s[0], 0, n); return acc; },
                (s, n, acc) -> { System.arraycopy(s[1], 0, s[0], 0, n); return acc; });
        return be.wrap(r, to, x.shape());
    }

    /**
     * {@code t[rows[m], :] += s[m, :]} for m in order (rows may repeat), each sum in the storage precision and, when
     * {@code bf16}, rounded after its row update, as PyTorch's {@code index_add_}: t and s dense, of one storage type,
     * rows of c elements. Columns are cut into tasks (each runs every m in order), so the order of the additions to
     * an element never changes. False (nothing done) when not applicable.
     */
    static boolean addRows(INDArray t, int[] rows, INDArray s, int c, boolean bf16) {
        if (rows.length == 0 || c == 0) return true;
        if (!HostKernels.applies(t, s) || t.dataType() != s.dataType()) return false;
        boolean fp32 = t.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT;
        var tb = t.data().asNio().order(java.nio.ByteOrder.nativeOrder());
        var sb = s.data().asNio().order(java.nio.ByteOrder.nativeOrder());
        java.nio.FloatBuffer tf = fp32 ? tb.asFloatBuffer() : null, sf = fp32 ? sb.asFloatBuffer() : null;
        java.nio.DoubleBuffer td = fp32 ? null : tb.asDoubleBuffer(), sd = fp32 ? null : sb.asDoubleBuffer();
        int width = 512, tasks = (c + width - 1) / width;
        java.util.function.IntConsumer task = k -> {
            int from = k * width, len = Math.min(c, from + width) - from;
            float[] a = fp32 ? new float[len] : null, b = fp32 ? new float[len] : null;
            double[] ad = fp32 ? null : new double[len], bd = fp32 ? null : new double[len];
            for (int m = 0; m < rows.length; m++) {
                int at = rows[m] * c + from, src = m * c + from;
                if (fp32) {
                    tf.get(at, a, 0, len);
                    sf.get(src, b, 0, len);
                    for (int i = 0; i < len; i++) a[i] += b[i];
                    if (bf16) HostKernels.roundBf16(a, len);
                    tf.put(at, a, 0, len);
                } else {
                    td.get(at, ad, 0, len);
                    sd.get(src, bd, 0, len);
                    for (int i = 0; i < len; i++) ad[i] += bd[i];
                    td.put(at, ad, 0, len);
                }
            }
        };
        if ((long) rows.length * c < HostKernels.PARALLEL_MIN || tasks == 1) {
            for (int k = 0; k < tasks; k++) task.accept(k);
        } else {
            java.util.stream.IntStream.range(0, tasks).parallel().forEach(task);
        }
        return true;
    }

    /**
     * {@code Σ x²} at the compute precision (fp32 for F32/BF16), in element order within each
     * {@link HostKernels#TASK} and the tasks' sums in order (the oracle's element order up to one task); a fresh
     * scalar of x's dtype, rounded once. Null when not applicable.
     */
    static Tensor sumSquares(Nd4jDataOps be, Tensor x) {
        INDArray X = be.arr(x);
        if (!HostKernels.applies(X)) return null;
        double ss = HostKernels.map(new INDArray[0], false, new INDArray[]{X}, false,
                (s, n, acc) -> { for (int i = 0; i < n; i++) acc += s[0][i] * s[0][i]; return acc; },
                (s, n, acc) -> { for (int i = 0; i < n; i++) acc += s[0][i] * s[0][i]; return acc; });
        return be.finish(org.nd4j.linalg.factory.Nd4j.scalar(X.dataType(), ss), x.dtype(), new int[0]);
    }

    /** {@code σ(v) = 1 / (1 + e^−v)}, the oracle's formula. */
    static double sigmoid(double v) {
        return 1.0 / (1.0 + Math.exp(-v));
    }

    private static double siluBackward(double x, double dy) {
        return siluBackward(x, sigmoid(x), dy);
    }

    /** {@code dy·silu'(x)} given {@code s = σ(x)}: {@code dy·s·(1 + x·(1 − s))}. */
    private static double siluBackward(double x, double s, double dy) {
        return dy * s * (1.0 + x * (1.0 - s));
    }

    private static Tensor map(Nd4jDataOps be, Tensor x, HostKernels.FloatBlock f, HostKernels.DoubleBlock d) {
        return fresh(be, x, new Tensor[]{x}, f, d);
    }

    private static Tensor map(Nd4jDataOps be, Tensor x, Tensor y, HostKernels.FloatBlock f, HostKernels.DoubleBlock d) {
        return fresh(be, x, new Tensor[]{x, y}, f, d);
    }

    /** A fresh result of {@code like}'s shape and dtype computed from {@code ins} (slots 1…), or null. */
    private static Tensor fresh(Nd4jDataOps be, Tensor like, Tensor[] ins, HostKernels.FloatBlock f,
                                HostKernels.DoubleBlock d) {
        INDArray[] in = new INDArray[ins.length];
        for (int i = 0; i < ins.length; i++) in[i] = be.arr(ins[i]);
        if (!HostKernels.applies(in)) return null;
        INDArray r = HostKernels.fresh(in[0].dataType(), HostArrays.longs(like.shape()));
        if (r == null) return null;
        HostKernels.map(new INDArray[]{r}, false, in, like.dtype() == DType.BF16, f, d);
        return be.wrap(r, like.dtype(), like.shape());
    }
}
