package moonlight4j.nd4j;

import moonlight4j.api.DType;
import moonlight4j.api.RmsNormGrads;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * RMSNorm and softmax, forward and backward side by side, on the rows of a {@code [rows, C]} view of the input.
 * fp32 compute for F32/BF16 (fp64 for F64), BF16 results rounded as stated per op. On the CPU dense arrays take
 * the row loops of {@link HostLayers} (the oracle's arithmetic); views and GPU arrays the ND4J ops below.
 */
final class Layers {

    private Layers() {
    }

    /** eps or a scalar in the compute precision: fp32 for F32/BF16 (PyTorch adds a Python float to an fp32 tensor). */
    private static double computeScalar(double s, DType d) {
        return d == DType.F64 ? s : (float) s;
    }

    /** The input as a {@code [rows, C]} view (not owned: never closed). */
    private static INDArray rows(INDArray x, int c) {
        return x.reshape('c', x.length() / c, c);
    }

    /** {@code r = 1/√(mean(x²) + eps)} per row, {@code (rows, 1)}, fresh. */
    private static INDArray rsqrtMeanSquare(INDArray x2, double eps) {
        INDArray r;
        try (INDArray sq = x2.mul(x2)) {
            r = sq.mean(true, 1);            // (rows, 1)
        }
        r.addi(eps);
        Transforms.sqrt(r, false);
        return r.rdivi(1.0);
    }

    /**
     * docs/model.md#rmsnorm: {@code y = w ⊙ cast_x(x · rsqrt(mean(x²) + eps))}; for BF16 the normalised x is rounded to
     * bf16 before the weight multiply and the product is rounded again (two PyTorch ops).
     */
    static Tensor rmsNorm(Nd4jDataOps be, Tensor x, Tensor w, double eps) {
        int[] out = Shapes.checkRmsNorm(x, w);
        if (x.numel() == 0) return be.zeros(x.dtype(), out);          // libnd4j refuses reductions of empty arrays
        Tensor host = HostLayers.rmsNorm(be, x, w, eps, out);
        if (host != null) return host;
        int c = x.dim(-1);
        DType d = x.dtype();
        INDArray x2 = rows(be.arr(x), c);                   // (rows, C)
        INDArray n;
        try (INDArray r = rsqrtMeanSquare(x2, computeScalar(eps, d))) {
            n = x2.mulColumnVector(r);                       // x · r
        }
        if (d == DType.BF16) Bf16Arrays.roundInPlace(n);
        INDArray y = n.mulRowVector(be.arr(w));              // w ⊙ n
        n.close();
        return be.finish(y, d, out);
    }

    /**
     * With {@code r = (mean(x²) + eps)^(−1/2)}, {@code n = x·r}, {@code dn = dy ⊙ w}:
     * {@code dx = r·dn − x · r³ · (Σ_c dn⊙x) / C} and {@code dw = Σ_rows dy ⊙ n}. As the oracle, the forward's bf16 rounding
     * of n is not differentiated (taken as identity). fp32 compute, one rounding of dx and of dw for BF16.
     */
    static RmsNormGrads rmsNormBackward(Nd4jDataOps be, Tensor x, Tensor w, double eps, Tensor dy) {
        Shapes.checkRmsNorm(x, w);
        Shapes.checkSameDtype("rmsNormBackward", x, dy);
        Shapes.checkSameShape("rmsNormBackward", x, dy);
        if (x.numel() == 0) return new RmsNormGrads(be.zeros(x.dtype(), x.shape()), be.zeros(w.dtype(), w.shape()));
        RmsNormGrads host = HostLayers.rmsNormBackward(be, x, w, eps, dy);
        if (host != null) return host;
        int c = x.dim(-1);
        DType d = x.dtype();
        INDArray x2 = rows(be.arr(x), c), dy2 = rows(be.arr(dy), c);
        INDArray dx, dw;
        try (INDArray r = rsqrtMeanSquare(x2, computeScalar(eps, d));
             INDArray n = x2.mulColumnVector(r);
             INDArray dn = dy2.mulRowVector(be.arr(w))) {
            try (INDArray dyn = dy2.mul(n)) {
                dw = dyn.sum(0);                             // (C)
            }
            INDArray dot;
            try (INDArray dnx = dn.mul(x2)) {
                dot = dnx.sum(true, 1);                      // (rows, 1): Σ_c dn⊙x
            }
            try (INDArray r3 = r.mul(r).muli(r)) {
                dot.muli(r3).divi(c);                        // r³ · Σ / C
            }
            dx = dn.mulColumnVector(r);                      // r · dn
            try (INDArray corr = x2.mulColumnVector(dot)) {
                dx.subi(corr);
            }
            dot.close();
        }
        return new RmsNormGrads(be.finish(dx, d, x.shape()), be.finish(dw, d, w.shape()));
    }

    /** {@code y = e^(x − max) / Σ e^(x − max)} over the last axis, fp32 for F32/BF16, rounded once. */
    static Tensor softmax(Nd4jDataOps be, Tensor x) {
        Shapes.checkFloating("softmax", x);
        if (x.rank() < 1) throw new IllegalArgumentException("softmax: expected rank ≥ 1, got " + Shapes.str(x.shape()));
        if (x.numel() == 0) return be.zeros(x.dtype(), x.shape());
        Tensor host = HostLayers.softmax(be, x);
        if (host != null) return host;
        INDArray x2 = rows(be.arr(x), x.dim(-1));
        INDArray e;
        try (INDArray m = x2.max(true, 1)) {
            e = x2.subColumnVector(m);
        }
        Transforms.exp(e, false);
        try (INDArray s = e.sum(true, 1)) {
            e.diviColumnVector(s);
        }
        return be.finish(e, x.dtype(), x.shape());
    }

    /** {@code dx = y ⊙ (dy − Σ_last(dy ⊙ y))}. */
    static Tensor softmaxBackward(Nd4jDataOps be, Tensor y, Tensor dy) {
        String op = "softmaxBackward";
        Shapes.checkFloating(op, y);
        Shapes.checkSameDtype(op, y, dy);
        Shapes.checkSameShape(op, y, dy);
        if (y.rank() < 1) throw new IllegalArgumentException(op + ": expected rank ≥ 1, got " + Shapes.str(y.shape()));
        if (y.numel() == 0) return be.zeros(y.dtype(), y.shape());
        Tensor host = HostLayers.softmaxBackward(be, y, dy);
        if (host != null) return host;
        int c = y.dim(-1);
        INDArray y2 = rows(be.arr(y), c), dy2 = rows(be.arr(dy), c);
        INDArray dx;
        try (INDArray p = dy2.mul(y2); INDArray dot = p.sum(true, 1)) {
            dx = dy2.subColumnVector(dot).muli(y2);
        }
        return be.finish(dx, y.dtype(), y.shape());
    }
}
