package moonlight4j.cpu;

import moonlight4j.api.DType;
import moonlight4j.api.Shapes;

import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * Elementwise kernels. Each evaluates its formula in double on exactly widened inputs and rounds the result once
 * to the output dtype ({@link CpuTensor#put}): for a single +, −, ×, ÷, √ this is the correctly rounded fp32 (F32)
 * or fp32-then-bf16 (BF16) result, as PyTorch computes it; composite formulas (sigmoid, silu, their backwards,
 * lerp) are evaluated in double and rounded once, so they are at least as accurate as PyTorch's fp32 evaluation.
 */
final class Elementwise {

    private Elementwise() {
    }

    /**
     * {@code y = f(a, b)} with numpy broadcasting; {@code out} already has the broadcast shape. Same-shape operands go
     * in fixed chunks on the workers (each element alone, so the chunking changes no bit).
     */
    static CpuTensor binary(Workers workers, CpuTensor a, CpuTensor b, CpuTensor out, DoubleBinaryOperator f) {
        int n = out.n;
        if (a.n == n && b.n == n) {                               // same shape (broadcast of equal numel is equal)
            workers.forChunks(n, (from, to) -> {
                for (int i = from; i < to; i++) out.put(i, f.applyAsDouble(a.at(i), b.at(i)));
            });
            return out;
        }
        int[] so = out.shapeRef();
        int[] sa = broadcastStrides(a.shapeRef(), so), sb = broadcastStrides(b.shapeRef(), so);
        Odometer it = new Odometer(so, sa, sb, so.length, 0);
        for (int o = 0; o < n; o++, it.next()) out.put(o, f.applyAsDouble(a.at(it.ia), b.at(it.ib)));
        return out;
    }

    /**
     * A broadcast output's index over its dims {@code [0, dims)} in row-major order, with the flat offsets
     * {@code ia} and {@code ib} of the two operands' elements at that index (their {@link #broadcastStrides}).
     */
    static final class Odometer {
        private final int[] so, sa, sb, idx;
        int ia, ib;

        /** At output position {@code start}, counted over the dims {@code [0, dims)}. */
        Odometer(int[] so, int[] sa, int[] sb, int dims, int start) {
            this.so = so;
            this.sa = sa;
            this.sb = sb;
            this.idx = new int[dims];
            for (int d = dims - 1, q = start; d >= 0 && q > 0; d--) {
                idx[d] = q % so[d];
                q /= so[d];
                ia += idx[d] * sa[d];
                ib += idx[d] * sb[d];
            }
        }

        /** One position on: the last dim counts up, carrying into the ones before it. */
        void next() {
            for (int d = idx.length - 1; d >= 0; d--) {
                idx[d]++;
                ia += sa[d];
                ib += sb[d];
                if (idx[d] < so[d]) return;
                ia -= sa[d] * so[d];
                ib -= sb[d] * so[d];
                idx[d] = 0;
            }
        }
    }

    /** Strides of {@code in} aligned to {@code out}'s dimensions, 0 where {@code in} is broadcast. */
    static int[] broadcastStrides(int[] in, int[] out) {
        int[] st = Shapes.strides(in);
        int[] res = new int[out.length];
        int off = out.length - in.length;
        for (int d = 0; d < in.length; d++) res[d + off] = in[d] == 1 ? 0 : st[d];
        return res;
    }

    /** {@code y_i = f(x_i)} rounded to out's dtype, in fixed chunks on the workers. */
    static CpuTensor unary(Workers workers, CpuTensor x, CpuTensor out, DoubleUnaryOperator f) {
        workers.forChunks(x.n, (from, to) -> {
            for (int i = from; i < to; i++) out.put(i, f.applyAsDouble(x.at(i)));
        });
        return out;
    }

    /** {@code σ(v) = 1 / (1 + e^−v)}. */
    static double sigmoid(double v) {
        return 1.0 / (1.0 + Math.exp(-v));
    }

    /** {@code silu(v) = v·σ(v)}. */
    static double silu(double v) {
        return v * sigmoid(v);
    }

    /** {@code dx = dy·σ(x)·(1 + x·(1 − σ(x)))}. */
    static double siluBackward(double x, double dy) {
        double s = sigmoid(x);
        return dy * s * (1.0 + x * (1.0 - s));
    }

    /**
     * PyTorch's lerp: {@code a + w·(b − a)} when |w| &lt; 0.5, else {@code b − (b − a)·(1 − w)}. The intermediate
     * values are rounded to the compute precision of {@code dtype} (fp32 for F32 and BF16, as PyTorch's fp32
     * evaluation), the result is rounded by the caller's store.
     */
    static double lerp(DType dtype, double a, double b, double w) {
        double diff = Precision.compute(dtype, b - a);
        if (Math.abs(w) < 0.5) {
            return a + Precision.compute(dtype, w * diff);
        }
        return b - Precision.compute(dtype, diff * Precision.compute(dtype, 1.0 - w));
    }

    /** The lerp weight as PyTorch converts it: to the tensor dtype (bf16-rounded for BF16). */
    static double lerpWeight(DType dtype, double w) {
        return Precision.scalar(dtype, w);
    }
}
