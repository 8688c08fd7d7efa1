package moonlight4j.nd4j;

import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Cross-entropy, forward and backward side by side. Per row n (fp32 for F32/BF16, fp64 for F64):
 * {@code m = max_v x_nv}, {@code s = Σ_v e^(x_nv − m)} (ND4J), {@code loss_n = log s − (x_{n,t} − m)}; the rows'
 * losses are summed on the host in double, in row order; the sum is rounded once to the dtype.
 */
final class Losses {

    private Losses() {
    }

    /** Targets as longs after checking each non-ignored one is in {@code [0, V)}. */
    private static long[] targets(Nd4jDataOps be, Tensor targets, long ignoreIndex, int v) {
        long[] t = HostArrays.longValues(be.arr(targets));
        for (long id : t) if (id != ignoreIndex) Shapes.checkIdRange("crossEntropy", "vocabulary", id, v);
        return t;
    }

    static Tensor crossEntropySum(Nd4jDataOps be, Tensor logits, Tensor targets, long ignoreIndex) {
        Shapes.checkCrossEntropy(logits, targets);
        int n = logits.dim(0), v = logits.dim(1);
        long[] t = targets(be, targets, ignoreIndex, v);
        if (logits.numel() == 0) return be.zeros(logits.dtype());     // no rows (or every row ignored with V = 0)
        boolean f64 = logits.dtype() == DType.F64;
        INDArray x = be.arr(logits);
        double[] m, logS;
        try (INDArray mx = x.max(true, 1); INDArray e = x.subColumnVector(mx)) {
            Transforms.exp(e, false);
            try (INDArray s = e.sum(1)) {
                Transforms.log(s, false);
                logS = HostArrays.doubles(s);
            }
            m = HostArrays.doubles(mx);
        }
        double total = 0;
        for (int r = 0; r < n; r++) {
            if (t[r] == ignoreIndex) continue;
            double xt = x.getDouble(r, t[r]);
            double loss = f64 ? logS[r] - (xt - m[r]) : (float) (logS[r] - (float) (xt - m[r]));
            total += loss;                                  // row losses summed in double, rounded once at the end
        }
        INDArray out = Nd4j.scalar(x.dataType(), total);
        return be.finish(out, logits.dtype(), new int[0]);
    }

    /** {@code scale · (softmax(x_n) − onehot(t_n))}, zero rows where ignored; BF16 rounded once. */
    static Tensor crossEntropyBackward(Nd4jDataOps be, Tensor logits, Tensor targets, long ignoreIndex, double scale) {
        Shapes.checkCrossEntropy(logits, targets);
        int n = logits.dim(0), v = logits.dim(1);
        long[] t = targets(be, targets, ignoreIndex, v);
        if (logits.numel() == 0) return be.zeros(logits.dtype(), logits.shape());
        INDArray x = be.arr(logits);
        INDArray p;
        try (INDArray mx = x.max(true, 1)) {
            p = x.subColumnVector(mx);
        }
        Transforms.exp(p, false);
        try (INDArray s = p.sum(true, 1)) {
            p.diviColumnVector(s);
        }
        for (int r = 0; r < n; r++) {
            if (t[r] == ignoreIndex) p.getRow(r).assign(0);
            else p.putScalar(r, t[r], p.getDouble(r, t[r]) - 1.0);
        }
        p.muli(logits.dtype() == DType.F64 ? scale : (float) scale);
        return be.finish(p, logits.dtype(), logits.shape());
    }
}
