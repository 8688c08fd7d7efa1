package moonlight4j.nd4j;

import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * In-place optimizer updates: compute in the storage precision, round a BF16 destination once, allocate only
 * temporaries. On the CPU dense arrays take the one-pass host loops of {@link HostUpdates}; the ND4J ops below serve
 * views and GPU arrays.
 */
final class Updates {

    private Updates() {
    }

    /** {@code src} in {@code dst}'s storage type: itself, or a temporary the caller closes. */
    private static INDArray as(INDArray src, INDArray dst) {
        return src.dataType() == dst.dataType() ? src : src.castTo(dst.dataType());
    }

    /** {@code dst ← src}, widened or rounded (RNE) to dst's dtype. */
    static void copyInto(Nd4jDataOps be, Tensor dst, Tensor src) {
        Shapes.checkInPlace("copyInto", dst, src);
        if (HostUpdates.copyInto(be, dst, src)) return;
        INDArray d = be.arr(dst), s = be.arr(src);
        if (dst.dtype() == DType.BF16 && src.dtype() != DType.BF16) {
            INDArray f = as(s, d);
            try (INDArray r = Bf16Arrays.rounded(f)) {
                d.assign(r);
            }
            if (f != s) f.close();
        } else {
            d.assign(s);
        }
    }

    /** {@code p ← s·p}, s in p's dtype. */
    static void scaleInPlace(Nd4jDataOps be, Tensor p, double s) {
        Shapes.checkFloating("scaleInPlace", p);
        if (HostUpdates.scale(be, p, s)) return;
        INDArray a = be.arr(p);
        a.muli(Nd4jBackend.scalar(s, p.dtype()));
        if (p.dtype() == DType.BF16) Bf16Arrays.roundInPlace(a);
    }

    /**
     * {@code p ← p + α·u} by BLAS axpy (measured here to round α·u and then the sum: two roundings in the
     * storage precision, where the oracle rounds once); α at p's compute precision (fp32 for F32/BF16, as PyTorch's {@code add_(u, alpha=α)}), u widened
     * or rounded to p's storage type first, then one rounding to bf16 for BF16.
     */
    static void axpyInPlace(Nd4jDataOps be, Tensor p, double alpha, Tensor u) {
        Shapes.checkInPlace("axpyInPlace", p, u);
        if (HostUpdates.axpy(be, p, alpha, u)) return;
        INDArray a = be.arr(p), uu = be.arr(u);
        INDArray w = as(uu, a);
        double al = p.dtype() == DType.F64 ? alpha : (float) alpha;
        if (a.length() > 0) {
            long[] flat = {a.length()};
            Nd4j.getBlasWrapper().level1().axpy(a.length(), al, w.reshape('c', flat), a.reshape('c', flat));
        }
        if (w != uu) w.close();
        if (p.dtype() == DType.BF16) Bf16Arrays.roundInPlace(a);
    }

    /** {@code a ← lerp(a, b, w)}. */
    static void lerpInPlace(Nd4jDataOps be, Tensor a, Tensor b, double w) {
        String op = "lerpInPlace";
        Shapes.checkFloating(op, a);
        Shapes.checkSameDtype(op, a, b);
        Shapes.checkSameShape(op, a, b);
        if (HostUpdates.lerp(be, a, b, w)) return;
        INDArray x = be.arr(a);
        try (INDArray r = Elementwise.lerpArrays(x, be.arr(b), w, a.dtype())) {
            if (a.dtype() == DType.BF16) Bf16Arrays.roundInPlace(r);
            x.assign(r);
        }
    }
}
