package moonlight4j.nd4j;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Condition;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Reductions by libnd4j (fp32 accumulation for F32/BF16, fp64 for F64, in libnd4j's blocked order, not index
 * order); BF16 results are rounded once.
 */
final class Reductions {

    private Reductions() {
    }

    static Tensor sum(Nd4jDataOps be, Tensor x, int axis) {
        int[] out = Shapes.checkReduce("sum", x, axis);
        int a = Shapes.axis("sum", axis, x.rank());
        return be.finish(be.arr(x).sum(a), x.dtype(), out);
    }

    static Tensor sumAll(Nd4jDataOps be, Tensor x) {
        Shapes.checkFloating("sumAll", x);
        return be.finish(be.arr(x).sum(), x.dtype(), new int[0]);
    }

    /** {@code Σ x²}. */
    static Tensor sumSquares(Nd4jDataOps be, Tensor x) {
        Shapes.checkFloating("sumSquares", x);
        if (x.numel() == 0) return be.zeros(x.dtype());
        Tensor host = HostOps.sumSquares(be, x);
        if (host != null) return host;
        return be.finish(Nd4j.getExecutioner().exec(new SquaredNorm(be.arr(x))), x.dtype(), new int[0]);
    }

    /** {@code √(Σ x²)} in fp32 (fp64 for F64), then one rounding to x's dtype. */
    static Tensor frobeniusNorm(Nd4jDataOps be, Tensor x) {
        Shapes.checkFloating("frobeniusNorm", x);
        if (x.numel() == 0) return be.zeros(x.dtype());               // libnd4j refuses norm2 of an empty array
        return be.finish(be.arr(x).norm2(), x.dtype(), new int[0]);
    }

    /** Largest element; NaN when any element is NaN. */
    static Tensor maxAll(Nd4jDataOps be, Tensor x) {
        Shapes.checkFloating("maxAll", x);
        if (x.numel() == 0) throw new IllegalArgumentException("maxAll: empty tensor " + Shapes.str(x.shape()));
        INDArray X = be.arr(x);
        if (count(X, Conditions.isNan()) > 0) {
            return be.wrap(Nd4j.scalar(X.dataType(), Double.NaN), x.dtype(), new int[0]);
        }
        return be.finish(X.max(), x.dtype(), new int[0]);
    }

    static boolean allFinite(Nd4jDataOps be, Tensor x) {
        Shapes.checkFloating("allFinite", x);
        if (x.numel() == 0) return true;
        INDArray a = be.arr(x);
        if (HostBits.applies(a)) return HostBits.allFinite(a);          // F32/BF16 on the host: one pass over bits
        return count(a, Conditions.notFinite()) == 0;
    }

    /** How many elements satisfy {@code c}. */
    static long count(INDArray x, Condition c) {
        try (INDArray n = Nd4j.getExecutioner().exec(new MatchCondition(x, c))) {
            return n.getLong(0);
        }
    }

}
