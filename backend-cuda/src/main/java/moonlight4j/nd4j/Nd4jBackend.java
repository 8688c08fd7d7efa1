package moonlight4j.nd4j;

import moonlight4j.api.Backend;
import moonlight4j.api.FusedOps;
import moonlight4j.api.RmsNormGrads;
import moonlight4j.api.Shapes;
import moonlight4j.api.SwiGluGrads;
import moonlight4j.api.Tensor;
import moonlight4j.api.TopK;


/**
 * The {@code nd4j} backend: every op of {@link Backend} on ND4J arrays (nd4j-native with OpenBLAS by default,
 * nd4j-cuda under the Maven profile {@code cuda}). Argument checks are the shared {@link Shapes} ones, so errors
 * read exactly as the oracle's.
 *
 * <p><b>Precision.</b> F32 in fp32, F64 in fp64 (ND4J FLOAT/DOUBLE). BF16 is stored as bf16-exact FLOAT, each op
 * computes in fp32 and rounds its result once, round-to-nearest-even ({@link Bf16}); ND4J's own BFLOAT16 matmul
 * (a generic loop accumulating in bf16) is never used. <b>Summation order</b> is ND4J's/BLAS's (blocked, threaded,
 * FMA), not index order, so F32/BF16 results agree with the oracle to rounding, not bit for bit.
 *
 * <p>Identity, creation and transfer are in {@link Nd4jDataOps}; this class dispatches the compute ops to
 * {@link Elementwise}, {@link Reductions},
 * {@link Layers}, {@link Rope}, {@link Indexing}, {@link Losses} and {@link Updates}.
 */
public final class Nd4jBackend extends Nd4jDataOps {

    public static final String NAME = "nd4j";

    Nd4jBackend() {
    }

    // =============================================================== linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        own("matmul", a, b);
        return MatMul.matmul(this, a, b, transA, transB);
    }

    // =============================================================== elementwise

    @Override
    public Tensor add(Tensor a, Tensor b) {
        own("add", a, b);
        return Elementwise.binary(this, Elementwise.Op.ADD, a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        own("sub", a, b);
        return Elementwise.binary(this, Elementwise.Op.SUB, a, b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        own("mul", a, b);
        return Elementwise.binary(this, Elementwise.Op.MUL, a, b);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        own("div", a, b);
        return Elementwise.binary(this, Elementwise.Op.DIV, a, b);
    }

    @Override
    public Tensor addScalar(Tensor x, double s) {
        own("addScalar", x);
        return Elementwise.addScalar(this, x, s);
    }

    @Override
    public Tensor scaleAdd(Tensor x, double s, Tensor y) {
        own("scaleAdd", x, y);
        FusedOps.checkOperands("scaleAdd", x, y);
        Tensor host = HostOps.scaleAdd(this, x, scalar(s, x.dtype()), y);
        return host != null ? host : super.scaleAdd(x, s, y);
    }

    @Override
    public Tensor mulScalar(Tensor x, double s) {
        own("mulScalar", x);
        return Elementwise.mulScalar(this, x, s);
    }

    @Override
    public Tensor sqrt(Tensor x) {
        own("sqrt", x);
        return Elementwise.unary(this, "sqrt", x);
    }

    @Override
    public Tensor exp(Tensor x) {
        own("exp", x);
        return Elementwise.unary(this, "exp", x);
    }

    @Override
    public Tensor log(Tensor x) {
        own("log", x);
        return Elementwise.unary(this, "log", x);
    }

    @Override
    public Tensor sigmoid(Tensor x) {
        own("sigmoid", x);
        return Elementwise.unary(this, "sigmoid", x);
    }

    @Override
    public Tensor sigmoidBackward(Tensor y, Tensor dy) {
        own("sigmoidBackward", y, dy);
        return Elementwise.sigmoidBackward(this, y, dy);
    }

    @Override
    public Tensor silu(Tensor x) {
        own("silu", x);
        return Elementwise.unary(this, "silu", x);
    }

    @Override
    public Tensor swiglu(Tensor g, Tensor u) {
        own("swiglu", g, u);
        FusedOps.checkOperands("swiglu", g, u);
        Tensor host = HostOps.swiglu(this, g, u);
        return host != null ? host : super.swiglu(g, u);
    }

    @Override
    public SwiGluGrads swigluBackward(Tensor g, Tensor u, Tensor dh) {
        own("swigluBackward", g, u, dh);
        FusedOps.checkOperands("swigluBackward", g, u);
        FusedOps.checkOperands("swigluBackward", g, dh);
        SwiGluGrads host = HostOps.swigluBackward(this, g, u, dh);
        return host != null ? host : super.swigluBackward(g, u, dh);
    }

    @Override
    public Tensor siluBackward(Tensor x, Tensor dy) {
        own("siluBackward", x, dy);
        return Elementwise.siluBackward(this, x, dy);
    }

    @Override
    public Tensor lerp(Tensor a, Tensor b, double w) {
        own("lerp", a, b);
        return Elementwise.lerp(this, a, b, w);
    }

    // =============================================================== reductions

    @Override
    public Tensor sum(Tensor x, int axis) {
        own("sum", x);
        return Reductions.sum(this, x, axis);
    }

    @Override
    public Tensor sumAll(Tensor x) {
        own("sumAll", x);
        return Reductions.sumAll(this, x);
    }

    @Override
    public Tensor sumSquares(Tensor x) {
        own("sumSquares", x);
        return Reductions.sumSquares(this, x);
    }

    @Override
    public Tensor frobeniusNorm(Tensor x) {
        own("frobeniusNorm", x);
        return Reductions.frobeniusNorm(this, x);
    }

    @Override
    public Tensor maxAll(Tensor x) {
        own("maxAll", x);
        return Reductions.maxAll(this, x);
    }

    @Override
    public boolean allFinite(Tensor x) {
        own("allFinite", x);
        return Reductions.allFinite(this, x);
    }

    // =============================================================== layers

    @Override
    public Tensor rmsNorm(Tensor x, Tensor w, double eps) {
        own("rmsNorm", x, w);
        return Layers.rmsNorm(this, x, w, eps);
    }

    @Override
    public RmsNormGrads rmsNormBackward(Tensor x, Tensor w, double eps, Tensor dy) {
        own("rmsNormBackward", x, w, dy);
        return Layers.rmsNormBackward(this, x, w, eps, dy);
    }

    @Override
    public Tensor softmax(Tensor x) {
        own("softmax", x);
        return Layers.softmax(this, x);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        own("softmaxBackward", y, dy);
        return Layers.softmaxBackward(this, y, dy);
    }

    @Override
    public Tensor rope(Tensor x, Tensor positionIds, double theta) {
        own("rope", x, positionIds);
        return Rope.forward(this, x, positionIds, theta);
    }

    @Override
    public Tensor ropeBackward(Tensor dy, Tensor positionIds, double theta) {
        own("ropeBackward", dy, positionIds);
        return Rope.backward(this, dy, positionIds, theta);
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        own("embedding", table, ids);
        return Indexing.embedding(this, table, ids);
    }

    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        own("embeddingBackward", dy, ids);
        return Indexing.embeddingBackward(this, dy, ids, vocab);
    }

    @Override
    public TopK topk(Tensor x, int k) {
        own("topk", x);
        return Indexing.topk(this, x, k);
    }

    @Override
    public Tensor gatherRows(Tensor x, Tensor idx) {
        own("gatherRows", x, idx);
        return Indexing.gatherRows(this, x, idx);
    }

    @Override
    public void indexAddInPlace(Tensor target, Tensor idx, Tensor src) {
        own("indexAddInPlace", target, idx, src);
        Indexing.indexAddInPlace(this, target, idx, src);
    }

    @Override
    public Tensor gatherLastDim(Tensor x, Tensor idx) {
        own("gatherLastDim", x, idx);
        return Indexing.gatherLastDim(this, x, idx);
    }

    @Override
    public Tensor scatterAddLastDim(Tensor dy, Tensor idx, int size) {
        own("scatterAddLastDim", dy, idx);
        return Indexing.scatterAddLastDim(this, dy, idx, size);
    }

    @Override
    public Tensor crossEntropySum(Tensor logits, Tensor targets, long ignoreIndex) {
        own("crossEntropySum", logits, targets);
        return Losses.crossEntropySum(this, logits, targets, ignoreIndex);
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, double scale) {
        own("crossEntropyBackward", logits, targets);
        return Losses.crossEntropyBackward(this, logits, targets, ignoreIndex, scale);
    }

    // =============================================================== in-place updates

    @Override
    public void copyInto(Tensor dst, Tensor src) {
        own("copyInto", dst, src);
        Updates.copyInto(this, dst, src);
    }

    @Override
    public void scaleInPlace(Tensor p, double s) {
        own("scaleInPlace", p);
        Updates.scaleInPlace(this, p, s);
    }

    @Override
    public void axpyInPlace(Tensor p, double alpha, Tensor u) {
        own("axpyInPlace", p, u);
        Updates.axpyInPlace(this, p, alpha, u);
    }

    @Override
    public void lerpInPlace(Tensor a, Tensor b, double w) {
        own("lerpInPlace", a, b);
        Updates.lerpInPlace(this, a, b, w);
    }

    @Override
    public void scaleAxpyInPlace(Tensor p, double s, double alpha, Tensor u) {
        own("scaleAxpyInPlace", p, u);
        Shapes.checkInPlace("scaleAxpyInPlace", p, u);
        if (!HostUpdates.scaleAxpy(this, p, s, alpha, u, true)) super.scaleAxpyInPlace(p, s, alpha, u);
    }

    @Override
    public void momentumInPlace(Tensor buf, Tensor g, double mu, Tensor nesterov) {
        String op = "momentumInPlace";
        own(op, buf, g);
        Shapes.checkInPlace(op, buf, g);
        if (nesterov != null) {
            own(op, nesterov);
            Shapes.checkInPlace(op, buf, nesterov);
        }
        if (!HostUpdates.momentum(this, buf, g, mu, nesterov)) super.momentumInPlace(buf, g, mu, nesterov);
    }

    @Override
    public double adamUpdateInPlace(Tensor p, Tensor g, Tensor m, Tensor v, moonlight4j.api.AdamUpdate u) {
        own("adamUpdateInPlace", p, g, m, v);
        return FusedAdam.adam(this, p, g, m, v, u);
    }
}
