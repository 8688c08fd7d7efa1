package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Rotary embedding, docs/model.md#rope-layout (HF "R" layout). x {@code [B, H, S, D]} in interleaved pair order; with
 * e = x[..., 0::2], o = x[..., 1::2], c/s = cos/sin(pos·inv_freq_j) {@code [B, 1, S, D/2]}:
 * forward {@code y = cat(e·c − o·s, o·c + e·s)} (half-split order); backward, from g = cat(g1, g2),
 * {@code dx[0::2] = g1·c + g2·s}, {@code dx[1::2] = g2·c − g1·s} (rotation by −angle). All fp32 (fp64 for F64),
 * BF16 forward rounds each product to bf16 before the sum, as the release; results rounded once to the dtype. The
 * small cos/sin tables are computed on the host (see {@link #tables}).
 */
final class Rope {

    private Rope() {
    }

    static Tensor forward(Nd4jDataOps be, Tensor x, Tensor positionIds, double theta) {
        int[] s = Shapes.checkRope(x, positionIds);
        if (x.numel() == 0) return be.zeros(x.dtype(), s);
        INDArray X = be.arr(x);
        int half = s[3] / 2;
        INDArray[] cs = tables(be, positionIds, theta, s[3], x.dtype());
        INDArray y;
        try (INDArray c = cs[0]; INDArray sn = cs[1]) {
            INDArray pairs = X.reshape('c', s[0], s[1], s[2], half, 2);    // (B, H, S, D/2, 2) view
            INDArray e = pairs.get(pair(0)), o = pairs.get(pair(1));        // (B, H, S, D/2) views
            INDArray y1 = mul(e, c), y2 = mul(o, c), os = mul(o, sn), es = mul(e, sn);
            if (x.dtype() == DType.BF16) {   // the release rounds each bf16 product before the sum (docs/model.md#rope-layout)
                for (INDArray t : new INDArray[]{y1, y2, os, es}) Bf16Arrays.roundInPlace(t);
            }
            y1.subi(os);
            y2.addi(es);
            y = Nd4j.concat(3, y1, y2);
            for (INDArray t : new INDArray[]{y1, y2, os, es}) NativeMemory.discard(t);
        }
        return be.finish(y, x.dtype(), s);
    }

    static Tensor backward(Nd4jDataOps be, Tensor dy, Tensor positionIds, double theta) {
        int[] s = Shapes.checkRope(dy, positionIds);
        if (dy.numel() == 0) return be.zeros(dy.dtype(), s);
        INDArray G = be.arr(dy);
        int half = s[3] / 2;
        INDArray[] cs = tables(be, positionIds, theta, s[3], dy.dtype());
        INDArray dx = Nd4j.create(G.dataType(), HostArrays.longs(s), 'c');
        try (INDArray c = cs[0]; INDArray sn = cs[1]) {
            INDArray g1 = G.get(last(NDArrayIndex.interval(0, half))), g2 = G.get(last(NDArrayIndex.interval(half, s[3])));
            INDArray de = mul(g1, c), g2s = mul(g2, sn), dO = mul(g2, c), g1s = mul(g1, sn);
            de.addi(g2s);
            dO.subi(g1s);
            INDArray pairs = dx.reshape('c', s[0], s[1], s[2], half, 2);   // (B, H, S, D/2, 2) view of dx
            pairs.get(pair(0)).assign(de);
            pairs.get(pair(1)).assign(dO);
            for (INDArray t : new INDArray[]{de, g2s, dO, g1s}) NativeMemory.discard(t);
        }
        return be.finish(dx, dy.dtype(), s);
    }

    /** Index selecting element {@code i} of each pair of a {@code (B, H, S, D/2, 2)} array. */
    private static INDArrayIndex[] pair(int i) {
        return new INDArrayIndex[]{NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.point(i)};
    }

    /** Index selecting {@code [..., idx]} of a rank-4 array. */
    private static INDArrayIndex[] last(INDArrayIndex idx) {
        return new INDArrayIndex[]{NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), idx};
    }

    /** {@code a ⊙ b}, b broadcast over the heads axis; fresh, shaped like a (give it back with {@link NativeMemory#discard}). */
    private static INDArray mul(INDArray a, INDArray b) {
        INDArray r = NativeMemory.uninitialized(a.dataType(), a.shape());
        Nd4j.exec(new MulOp(a, b, r));
        return r;
    }

    /** {@code v} at the compute precision: fp32 for F32/BF16, fp64 for F64. */
    private static double compute(DType d, double v) {
        return d == DType.F64 ? v : (float) v;
    }

    /** {@code v} rounded to the dtype (BF16: via fp32). */
    private static double store(DType d, double v) {
        return d == DType.F64 ? v : d == DType.F32 ? (float) v : Bf16.round((float) v);
    }

    /**
     * cos and sin tables {@code [B, 1, S, D/2]}, built in the dtype as the release builds its cos/sin cache after
     * {@code model.to(dtype)} (golden-data FORMAT §3.12): {@code inv_freq_j = st(1 / fl(fl(θ)^fl(2j/D)))},
     * {@code f = st(st(pos)·inv_freq_j)}, {@code st(fl(cos f))}, {@code st(fl(sin f))}, where fl rounds to fp32 and st
     * to the dtype (F32: both fp32; BF16: bf16), in the dtype's storage type.
     */
    private static INDArray[] tables(Nd4jDataOps be, Tensor positionIds, double theta, int dim, DType dtype) {
        int[] p = positionIds.shape();
        long[] pos = HostArrays.longValues(be.arr(positionIds));
        int half = dim / 2;
        DType d = dtype;
        double[] invFreq = new double[half];
        double base = compute(d, theta);
        for (int j = 0; j < half; j++) {
            double e = compute(d, (2.0 * j) / dim);
            invFreq[j] = store(d, 1.0 / compute(d, Math.pow(base, e)));
        }
        double[] cos = new double[pos.length * half], sin = new double[pos.length * half];
        for (int i = 0; i < pos.length; i++) {
            double pp = store(d, (double) pos[i]);
            for (int j = 0; j < half; j++) {
                double f = store(d, pp * invFreq[j]);
                cos[i * half + j] = store(d, compute(d, Math.cos(f)));
                sin[i * half + j] = store(d, compute(d, Math.sin(f)));
            }
        }
        long[] shape = {p[0], 1, p[1], half};
        INDArray c = HostArrays.create(cos, shape), sn = HostArrays.create(sin, shape);
        INDArray c2 = c.castTo(HostArrays.storage(dtype)), s2 = sn.castTo(HostArrays.storage(dtype));
        if (c2 != c) c.close();
        if (s2 != sn) sn.close();
        return new INDArray[]{c2, s2};
    }
}
