package moonlight4j.nd4j;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Rotary embedding, SPEC §4.4 (HF "R" layout). x {@code [B, H, S, D]} in interleaved pair order; with e = x[..., 0::2],
 * o = x[..., 1::2], c/s = cos/sin(pos·inv_freq_j) {@code [B, 1, S, D/2]}:
 * forward {@code y = cat(e·c − o·s, o·c + e·s)} (half-split order); backward, from g = cat(g1, g2),
 * {@code dx[0::2] = g1·c + g2·s}, {@code dx[1::2] = g2·c − g1·s} (rotation by −angle). All fp32 (fp64 for F64),
 * BF16 rounded once. The small cos/sin tables are computed on the host:
 * {@code inv_freq_j = 1 / θ^(2j/D)} in fp32, {@code f = pos·inv_freq_j} in fp32, {@code cos f} rounded to fp32.
 */
final class Rope {

    private Rope() {
    }

    static Tensor forward(Nd4jBackend be, Tensor x, Tensor positionIds, double theta) {
        int[] s = Shapes.checkRope(x, positionIds);
        INDArray X = be.arr(x);
        int half = s[3] / 2;
        INDArray[] cs = tables(be, positionIds, theta, s[3], X);
        INDArray y;
        try (INDArray c = cs[0]; INDArray sn = cs[1]) {
            INDArray e = X.get(last(NDArrayIndex.interval(0, 2, s[3]))), o = X.get(last(NDArrayIndex.interval(1, 2, s[3])));
            INDArray y1 = mul(e, c), y2 = mul(o, c);
            try (INDArray os = mul(o, sn); INDArray es = mul(e, sn)) {
                y1.subi(os);
                y2.addi(es);
            }
            y = Nd4j.concat(3, y1, y2);
            y1.close();
            y2.close();
        }
        assert half * 2 == s[3];
        return be.finish(y, x.dtype(), s);
    }

    static Tensor backward(Nd4jBackend be, Tensor dy, Tensor positionIds, double theta) {
        int[] s = Shapes.checkRope(dy, positionIds);
        INDArray G = be.arr(dy);
        int half = s[3] / 2;
        INDArray[] cs = tables(be, positionIds, theta, s[3], G);
        INDArray dx = Nd4j.create(G.dataType(), HostArrays.longs(s), 'c');
        try (INDArray c = cs[0]; INDArray sn = cs[1]) {
            INDArray g1 = G.get(last(NDArrayIndex.interval(0, half))), g2 = G.get(last(NDArrayIndex.interval(half, s[3])));
            try (INDArray de = mul(g1, c); INDArray g2s = mul(g2, sn); INDArray dO = mul(g2, c); INDArray g1s = mul(g1, sn)) {
                de.addi(g2s);
                dO.subi(g1s);
                dx.get(last(NDArrayIndex.interval(0, 2, s[3]))).assign(de);
                dx.get(last(NDArrayIndex.interval(1, 2, s[3]))).assign(dO);
            }
        }
        return be.finish(dx, dy.dtype(), s);
    }

    /** Index selecting {@code [..., idx]} of a rank-4 array. */
    private static INDArrayIndex[] last(INDArrayIndex idx) {
        return new INDArrayIndex[]{NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), idx};
    }

    /** {@code a ⊙ b}, b broadcast over the heads axis; fresh, shaped like a. */
    private static INDArray mul(INDArray a, INDArray b) {
        INDArray r = Nd4j.create(a.dataType(), a.shape(), 'c');
        Nd4j.exec(new MulOp(a, b, r));
        return r;
    }

    /** cos and sin tables {@code [B, 1, S, D/2]} in the storage type of {@code like}. */
    private static INDArray[] tables(Nd4jBackend be, Tensor positionIds, double theta, int dim, INDArray like) {
        int[] p = positionIds.shape();
        long[] pos = HostArrays.longValues(be.arr(positionIds));
        int half = dim / 2;
        boolean f64 = like.dataType() == DataType.DOUBLE;   // F64: the same formulas in fp64
        double[] invFreq = new double[half];
        for (int j = 0; j < half; j++) {
            invFreq[j] = f64 ? 1.0 / Math.pow(theta, 2.0 * j / dim) : 1f / (float) Math.pow(theta, (float) (2 * j) / dim);
        }
        double[] cos = new double[pos.length * half], sin = new double[pos.length * half];
        for (int i = 0; i < pos.length; i++) {
            for (int j = 0; j < half; j++) {
                double f = f64 ? pos[i] * invFreq[j] : (float) pos[i] * (float) invFreq[j];
                cos[i * half + j] = f64 ? Math.cos(f) : (float) Math.cos(f);
                sin[i * half + j] = f64 ? Math.sin(f) : (float) Math.sin(f);
            }
        }
        long[] shape = {p[0], 1, p[1], half};
        INDArray c = HostArrays.create(cos, shape), sn = HostArrays.create(sin, shape);
        INDArray c2 = c.castTo(like.dataType()), s2 = sn.castTo(like.dataType());
        if (c2 != c) c.close();
        if (s2 != sn) sn.close();
        return new INDArray[]{c2, s2};
    }
}
