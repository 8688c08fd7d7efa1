package moonlight4j.nd4j;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The element-wise ops of {@link Elementwise} as {@link HostKernels} passes (nd4j-native, dense arrays), each
 * writing a fresh array from {@link NativeMemory#uninitialized}, BF16 rounded in the same pass. Arithmetic as the
 * oracle's: a single +, −, ×, ÷, √ in the storage precision (fp32 for F32/BF16, fp64 for F64), scalars converted to
 * the dtype first; exp, log, sigmoid, silu and the two backwards evaluated in double from the (exact) inputs and
 * rounded once; lerp in fp32 steps as PyTorch. Slot 0 of every kernel is the result.
 */
final class HostOps {

    private HostOps() {
    }

    /** {@code a ∘ b} with broadcasting, or null when the host pass does not apply (views, GPU). */
    static Tensor binary(Nd4jDataOps be, Elementwise.Op op, Tensor a, Tensor b, int[] out) {
        INDArray A = be.arr(a), B = be.arr(b);
        if (!HostKernels.applies(A, B)) return null;
        INDArray r = NativeMemory.uninitialized(A.dataType(), HostArrays.longs(out));   // every element written
        if (!HostKernels.applies(r)) {
            r.close();
            return null;
        }
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
        float sf = (float) s;
        return add
                ? map(be, x, (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] + sf; return acc; },
                             (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] + s; return acc; })
                : map(be, x, (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] * sf; return acc; },
                             (v, n, acc) -> { for (int i = 0; i < n; i++) v[0][i] = v[1][i] * s; return acc; });
    }

    /** sqrt, exp, log, sigmoid {@code 1/(1+e^−x)}, silu {@code x·σ(x)}; null when not applicable. */
    static Tensor unary(Nd4jDataOps be, String op, Tensor x) {
        return switch (op) {
            case "sqrt" -> map(be, x,
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) Math.sqrt(s[1][i]); return acc; },
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = Math.sqrt(s[1][i]); return acc; });
            case "exp" -> map(be, x,
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) Math.exp(s[1][i]); return acc; },
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = Math.exp(s[1][i]); return acc; });
            case "log" -> map(be, x,
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = (float) Math.log(s[1][i]); return acc; },
                    (s, n, acc) -> { for (int i = 0; i < n; i++) s[0][i] = Math.log(s[1][i]); return acc; });
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
        double s = sigmoid(x);
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
        INDArray r = NativeMemory.uninitialized(in[0].dataType(), HostArrays.longs(like.shape()));  // every element written
        if (!HostKernels.applies(r)) {
            r.close();
            return null;
        }
        HostKernels.map(new INDArray[]{r}, false, in, like.dtype() == DType.BF16, f, d);
        return be.wrap(r, like.dtype(), like.shape());
    }
}
