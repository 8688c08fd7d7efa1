package moonlight4j.nd4j;

import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Elementwise ops. Each computes in the storage precision (fp32 for F32/BF16, fp64 for F64) into a fresh array and
 * rounds BF16 results once ({@link Nd4jBackend#finish}); temporaries are closed before returning. On the CPU the
 * dense arrays take the one-pass host loops of {@link HostOps}; views and GPU arrays the ND4J ops below.
 */
final class Elementwise {

    enum Op { ADD, SUB, MUL, DIV }

    private Elementwise() {
    }

    /** {@code a ∘ b} with numpy broadcasting (libnd4j's broadcastable pairwise ops). */
    static Tensor binary(Nd4jDataOps be, Op op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase();
        int[] out = Shapes.checkBinary(name, a, b);
        Tensor host = Shapes.numel(out) > 0 ? HostOps.binary(be, op, a, b, out) : null;
        if (host != null) return host;
        INDArray A = be.arr(a), B = be.arr(b);
        INDArray r = NativeMemory.uninitialized(A.dataType(), HostArrays.longs(out));   // fully written
        if (Shapes.numel(out) > 0) {
            DynamicCustomOp o = switch (op) {
                case ADD -> new AddOp(A, B, r);
                case SUB -> new SubOp(A, B, r);
                case MUL -> new MulOp(A, B, r);
                case DIV -> new DivOp(A, B, r);
            };
            Nd4j.exec(o);
        }
        return be.finish(r, a.dtype(), out);
    }

    static Tensor addScalar(Nd4jDataOps be, Tensor x, double s) {
        Shapes.checkFloating("addScalar", x);
        return scalar(be, x, s, true);
    }

    static Tensor mulScalar(Nd4jDataOps be, Tensor x, double s) {
        Shapes.checkFloating("mulScalar", x);
        return scalar(be, x, s, false);
    }

    /** {@code x + s} ({@code add}) or {@code x · s}: the host pass where it applies, else libnd4j into a pooled result. */
    private static Tensor scalar(Nd4jDataOps be, Tensor x, double s, boolean add) {
        double v = Nd4jBackend.scalar(s, x.dtype());
        Tensor host = HostOps.scalar(be, x, v, add);
        if (host != null) return host;
        INDArray X = be.arr(x);
        INDArray r = X.isEmpty() ? null : NativeMemory.uninitialized(X.dataType(), X.shape());   // fully written
        INDArray y = r == null ? (add ? X.add(v) : X.mul(v)) : add ? X.add(v, r) : X.mul(v, r);
        return be.finish(y, x.dtype(), x.shape());
    }

    /** sqrt, exp, log, sigmoid {@code 1/(1+e^−x)}, silu {@code x·σ(x)}. */
    static Tensor unary(Nd4jDataOps be, String op, Tensor x) {
        Shapes.checkFloating(op, x);
        Tensor host = HostOps.unary(be, op, x);
        if (host != null) return host;
        INDArray X = be.arr(x);
        INDArray r = switch (op) {
            case "sqrt" -> Transforms.sqrt(X, true);
            case "exp" -> Transforms.exp(X, true);
            case "log" -> Transforms.log(X, true);
            case "sigmoid" -> Transforms.sigmoid(X, true);
            case "silu" -> Transforms.sigmoid(X, true).muli(X);
            default -> throw new IllegalStateException("unknown unary op " + op);
        };
        return be.finish(r, x.dtype(), x.shape());
    }

    /** {@code dx = (dy ⊙ y) ⊙ (1 − y)}. */
    static Tensor sigmoidBackward(Nd4jDataOps be, Tensor y, Tensor dy) {
        String op = "sigmoidBackward";
        Shapes.checkFloating(op, y);
        Shapes.checkSameDtype(op, y, dy);
        Shapes.checkSameShape(op, y, dy);
        Tensor host = HostOps.sigmoidBackward(be, y, dy);
        if (host != null) return host;
        INDArray Y = be.arr(y);
        INDArray r = be.arr(dy).mul(Y);
        try (INDArray oneMinusY = Y.rsub(1.0)) {
            r.muli(oneMinusY);
        }
        return be.finish(r, y.dtype(), y.shape());
    }

    /** {@code dx = (dy ⊙ σ(x)) ⊙ (1 + x ⊙ (1 − σ(x)))}. */
    static Tensor siluBackward(Nd4jDataOps be, Tensor x, Tensor dy) {
        String op = "siluBackward";
        Shapes.checkFloating(op, x);
        Shapes.checkSameDtype(op, x, dy);
        Shapes.checkSameShape(op, x, dy);
        Tensor host = HostOps.siluBackward(be, x, dy);
        if (host != null) return host;
        INDArray X = be.arr(x);
        INDArray r;
        try (INDArray s = Transforms.sigmoid(X, true); INDArray t = s.rsub(1.0)) {
            t.muli(X).addi(1.0);            // 1 + x(1 − σ)
            r = be.arr(dy).mul(s).muli(t);  // (dy·σ)·(1 + x(1 − σ))
        }
        return be.finish(r, x.dtype(), x.shape());
    }

    /** PyTorch's lerp: {@code a + w(b − a)} when |w| &lt; 0.5, else {@code b − (b − a)(1 − w)}; w in the dtype. */
    static Tensor lerp(Nd4jDataOps be, Tensor a, Tensor b, double w) {
        String op = "lerp";
        Shapes.checkFloating(op, a);
        Shapes.checkSameDtype(op, a, b);
        Shapes.checkSameShape(op, a, b);
        Tensor host = HostOps.lerp(be, a, b, Nd4jBackend.scalar(w, a.dtype()));
        if (host != null) return host;
        return be.finish(lerpArrays(be.arr(a), be.arr(b), w, a.dtype()), a.dtype(), a.shape());
    }

    /** Fresh {@code lerp(a, b, w)} in the storage precision (unrounded). */
    static INDArray lerpArrays(INDArray a, INDArray b, double w, DType d) {
        double wd = Nd4jBackend.scalar(w, d);
        INDArray diff = b.sub(a);
        if (Math.abs(wd) < 0.5) {
            return diff.muli(wd).addi(a);
        }
        double oneMinusW = d == DType.F64 ? 1.0 - wd : (float) (1.0f - (float) wd);
        return diff.muli(oneMinusW).rsubi(b);
    }
}
