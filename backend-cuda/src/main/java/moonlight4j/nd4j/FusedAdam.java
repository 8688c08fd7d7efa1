package moonlight4j.nd4j;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.DType;
import moonlight4j.api.FusedOps;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * {@link moonlight4j.api.Backend#adamUpdateInPlace}: on the CPU one host pass over p, g, m, v for every dtype
 * ({@link HostUpdates#adam}); otherwise (views, GPU) for F32 and F64 as in-place ND4J ops on p, m, v and two scratch
 * arrays, instead of the seven fresh arrays of the op sequence; each op computes and stores in the storage precision
 * as the unfused op does ({@link Updates}, {@link Elementwise#lerpArrays}). BF16, which rounds after every op, runs
 * the sequence ({@link FusedOps#adam}).
 */
final class FusedAdam {

    private FusedAdam() {
    }

    static double adam(Nd4jDataOps be, Tensor p, Tensor g, Tensor m, Tensor v, AdamUpdate u) {
        String op = "adamUpdateInPlace";
        for (Tensor t : new Tensor[]{g, m, v}) {
            Shapes.checkFloating(op, t);
            Shapes.checkSameDtype(op, p, t);
            Shapes.checkSameShape(op, p, t);
        }
        DType d = p.dtype();
        if (HostKernels.applies(be.arr(p), be.arr(g), be.arr(m), be.arr(v))) return HostUpdates.adam(be, p, g, m, v, u);
        if (d == DType.BF16 || p.numel() == 0) return FusedOps.adam(be, p, g, m, v, u);
        INDArray P = flat(be.arr(p)), G = flat(be.arr(g)), M = flat(be.arr(m)), V = flat(be.arr(v));
        try (INDArray g2 = G.mul(G); INDArray scratch = Nd4j.createUninitialized(G.dataType(), G.shape(), 'c')) {
            P.muli(Nd4jDataOps.scalar(u.decay(), d));                                  // p ← decay·p
            lerp(M, G, 1 - u.beta1(), d, scratch);                                     // m ← lerp(m, g, 1−β1)
            if (u.lerpSecondMoment()) {
                lerp(V, g2, 1 - u.beta2(), d, scratch);                                // v ← lerp(v, g², 1−β2)
            } else {
                V.muli(Nd4jDataOps.scalar(u.beta2(), d));                              // v ← β2·v + (1−β2)·g²
                axpy(V, 1 - u.beta2(), g2, d);
            }
            scratch.assign(V);
            Transforms.sqrt(scratch, false);                                           // √v
            scratch.muli(Nd4jDataOps.scalar(u.denomScale(), d)).addi(Nd4jDataOps.scalar(u.eps(), d));
            scratch.rdivi(M);                                                          // d = m / (√v·s + eps)
            axpy(P, -u.stepSize(), scratch, d);                                        // p ← p − stepSize·d
            try (INDArray ss = Nd4j.getExecutioner().exec(new SquaredNorm(scratch))) {
                return ss.getDouble(0);
            }
        }
    }

    /** {@code a ← lerp(a, b, w)} as {@link Elementwise#lerpArrays} computes it, through {@code scratch}. */
    private static void lerp(INDArray a, INDArray b, double w, DType d, INDArray scratch) {
        double wd = Nd4jDataOps.scalar(w, d);
        scratch.assign(b).subi(a);                                                     // b − a
        if (Math.abs(wd) < 0.5) {
            a.addi(scratch.muli(wd));
        } else {
            double oneMinusW = d == DType.F64 ? 1.0 - wd : (float) (1.0f - (float) wd);
            a.assign(scratch.muli(oneMinusW).rsubi(b));
        }
    }

    /** {@code y ← y + α·x} by BLAS axpy, α at the compute precision, as {@link Updates#axpyInPlace}. */
    private static void axpy(INDArray y, double alpha, INDArray x, DType d) {
        double al = d == DType.F64 ? alpha : (float) alpha;
        Nd4j.getBlasWrapper().level1().axpy(y.length(), al, x, y);
    }

    private static INDArray flat(INDArray a) {
        return a.reshape('c', new long[]{a.length()});
    }
}
