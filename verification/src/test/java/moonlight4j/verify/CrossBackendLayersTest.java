package moonlight4j.verify;

import moonlight4j.api.DType;
import moonlight4j.api.RmsNormGrads;
import moonlight4j.api.Tensor;
import moonlight4j.api.TopK;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static moonlight4j.verify.CrossBackendSupport.*;
import static moonlight4j.testing.Qt.qt;

/**
 * The fused layers (RMSNorm, softmax, RoPE, cross-entropy) and the index ops of {@code nd4j} against the {@code cpu}
 * oracle on random shapes and dtypes. Error model as in {@link CrossBackendPropertiesTest}: bounds are counts of
 * fp32 roundings times u times a magnitude computed here in fp64; measured worsts are printed after the run.
 */
class CrossBackendLayersTest {

    @AfterAll
    static void report() {
        printWorst("CrossBackendLayersTest");
    }

    /**
     * RMSNorm rows [B·M, C]: each backend's r = (mean x² + eps)^(−½) is within (C + 4)·u relative (C-term sum, /C,
     * +eps, √, 1/), h = x·r and y = w·h add one rounding each: |Δy| ≤ 2(C + 6)·u·|w x r| + 3 bf16 ulps (h's flip
     * moves y by ≤ 2 ulps, y's own 1). Backward (oracle in fp64, nd4j in fp32, both rounded once):
     * dx scale r|dy w| + r³|x|·Σ|dy w x|/C with k = 2(C + 8); dw scale Σ_rows|dy x r| with k = 2(rows + C + 6).
     * Measured worst (u·scale units, F32/F64): forward 3.9, dx 5.7, dw 2.7; BF16 used ≤ 6% of its bound.
     */
    @Test
    void rmsNormForwardAndBackward() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            int rows = c.b() * c.m(), cc = c.n();
            double eps = 1e-5;
            Tensor[] x = both(c.dt(), normal(r, rows * cc, 2), s), w = both(c.dt(), normal(r, cc, 1), cc),
                    dy = both(c.dt(), normal(r, rows * cc, 1), s);
            double[] xv = values(x[0]), wv = values(w[0]), dyv = values(dy[0]);
            double[] fs = new double[rows * cc], dxs = new double[rows * cc], dws = new double[cc];
            for (int i = 0; i < rows; i++) {
                double ss = 0, dot = 0;
                for (int j = 0; j < cc; j++) {
                    ss += xv[i * cc + j] * xv[i * cc + j];
                    dot += Math.abs(dyv[i * cc + j] * wv[j] * xv[i * cc + j]);
                }
                double rr = 1 / Math.sqrt(ss / cc + eps);
                for (int j = 0; j < cc; j++) {
                    int at = i * cc + j;
                    fs[at] = Math.abs(wv[j] * xv[at] * rr);
                    dxs[at] = rr * Math.abs(dyv[at] * wv[j]) + rr * rr * rr * Math.abs(xv[at]) * dot / cc;
                    dws[j] += Math.abs(dyv[at] * xv[at] * rr);
                }
            }
            assertClose("rmsNorm", c, CPU.rmsNorm(x[0], w[0], eps), ND4J.rmsNorm(x[1], w[1], eps), 2.0 * (cc + 6), fs, 3);
            RmsNormGrads go = CPU.rmsNormBackward(x[0], w[0], eps, dy[0]), gn = ND4J.rmsNormBackward(x[1], w[1], eps, dy[1]);
            assertClose("rmsNormBackward dx", c, go.dx(), gn.dx(), 2.0 * (cc + 8), dxs, 1);
            assertClose("rmsNormBackward dw", c, go.dw(), gn.dw(), 2.0 * (rows + cc + 6), dws, 1);
            closeAll(x[0], x[1], w[0], w[1], dy[0], dy[1]);
            go.close();
            gn.close();
        });
    }

    /**
     * softmax: e_i = exp(x_i − m) within 2u, s = Σe within (C + 2)u, y = e/s one more: each backend within
     * (C + 4)·u·y relative, so k = 2(C + 4), scale y. Backward dx = y(dy − Σ dy·y): k = 2(C + 2), scale
     * |y|(|dy| + Σ|dy y|). Measured worst: forward 2.4 (F64; F32 bit-equal), backward bit-equal.
     */
    @Test
    void softmaxForwardAndBackward() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            int rows = c.b() * c.m(), cc = c.n();
            Tensor[] x = both(c.dt(), normal(r, rows * cc, 3), s), dy = both(c.dt(), normal(r, rows * cc, 1), s);
            Tensor yo = CPU.softmax(x[0]);
            double[] yv = values(yo), dyv = values(dy[0]), bs = new double[rows * cc];
            assertClose("softmax", c, yo, ND4J.softmax(x[1]), 2.0 * (cc + 4), abs(yv), 1);
            Tensor[] y = both(c.dt(), yv, s);                                   // the same y on both backends
            for (int i = 0; i < rows; i++) {
                double dot = 0;
                for (int j = 0; j < cc; j++) dot += Math.abs(dyv[i * cc + j] * yv[i * cc + j]);
                for (int j = 0; j < cc; j++) bs[i * cc + j] = Math.abs(yv[i * cc + j]) * (Math.abs(dyv[i * cc + j]) + dot);
            }
            assertClose("softmaxBackward", c, CPU.softmaxBackward(y[0], dy[0]), ND4J.softmaxBackward(y[1], dy[1]),
                    2.0 * (cc + 2), bs, 1);
            closeAll(x[0], x[1], dy[0], dy[1], y[0], y[1], yo);
        });
    }

    /**
     * RoPE forward is the same sequence of roundings on both backends (same host cos/sin tables, products rounded
     * to the dtype, then the sum), so it must be bit-equal. Backward: the oracle rounds once from fp64, nd4j does
     * two fp32 products and a sum: each pair within 4·u·(|g1| + |g2|) (measured worst 2.0).
     */
    @Test
    void ropeForwardIsExactAndBackwardWithinFourUlps() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int bsz = c.b(), h = 1 + r.nextInt(3), seq = c.m(), d = 2 * ((c.n() + 1) / 2), half = d / 2;
            int[] s = {bsz, h, seq, d};
            long[] pos = new long[bsz * seq];
            for (int i = 0; i < pos.length; i++) pos[i] = r.nextInt(4096);
            Tensor[] x = both(c.dt(), normal(r, numel(s), 1), s), g = both(c.dt(), normal(r, numel(s), 1), s);
            Tensor[] p = bothIds(pos, bsz, seq);
            assertExact("rope " + c, CPU.rope(x[0], p[0], 50000), ND4J.rope(x[1], p[1], 50000));
            double[] gv = values(g[0]), sc = new double[gv.length];
            for (int base = 0; base < gv.length; base += d) {
                for (int j = 0; j < half; j++) {
                    double m = Math.abs(gv[base + j]) + Math.abs(gv[base + half + j]);
                    sc[base + 2 * j] = m;
                    sc[base + 2 * j + 1] = m;
                }
            }
            assertClose("ropeBackward", c, CPU.ropeBackward(g[0], p[0], 50000), ND4J.ropeBackward(g[1], p[1], 50000),
                    4, sc, 1);
            closeAll(x[0], x[1], g[0], g[1], p[0], p[1]);
        });
    }

    /**
     * Cross-entropy over N = B·M rows of V = n logits, about a third of targets ignored (−100). Per row, log s has
     * absolute error ≤ (V + 4)·u (s is within (V + 2)u relative), x_t − m and the difference add u·|·| each; the
     * oracle sums rows in fp64, nd4j too: k = 2, scale Σ_rows (V + 4)(1 + |log s| + |x_t − m|) + |total|.
     * Backward: scale·(p − onehot), p within (V + 4)u relative: k = 2(V + 6), scale |scale|(p + 1).
     * Measured worst: sum bit-equal, backward 1.75 (F32).
     */
    @Test
    void crossEntropyForwardAndBackward() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int n = c.b() * c.m(), v = c.n();
            Tensor[] x = both(c.dt(), normal(r, n * v, 3), n, v);
            long[] t = new long[n];
            for (int i = 0; i < n; i++) t[i] = r.nextInt(3) == 0 ? -100 : r.nextInt(v);
            Tensor[] tt = bothIds(t, n);
            double[] xv = values(x[0]), bs = new double[n * v];
            double scale = 1.0 / Math.max(1, n), sumScale = 0, total = 0;
            for (int i = 0; i < n; i++) {
                double m = Double.NEGATIVE_INFINITY, s = 0;
                for (int j = 0; j < v; j++) m = Math.max(m, xv[i * v + j]);
                for (int j = 0; j < v; j++) s += Math.exp(xv[i * v + j] - m);
                for (int j = 0; j < v; j++) {
                    double pj = Math.exp(xv[i * v + j] - m) / s;
                    bs[i * v + j] = t[i] == -100 ? 0 : Math.abs(scale) * (pj + 1);
                }
                if (t[i] == -100) continue;
                double xt = xv[i * v + (int) t[i]] - m;
                sumScale += (v + 4) * (1 + Math.abs(Math.log(s)) + Math.abs(xt));
                total += Math.log(s) - xt;
            }
            assertClose("crossEntropySum", c, CPU.crossEntropySum(x[0], tt[0], -100), ND4J.crossEntropySum(x[1], tt[1], -100),
                    2, new double[]{sumScale + Math.abs(total)}, 1);
            assertClose("crossEntropyBackward", c, CPU.crossEntropyBackward(x[0], tt[0], -100, scale),
                    ND4J.crossEntropyBackward(x[1], tt[1], -100, scale), 2.0 * (v + 6), bs, 1);
            closeAll(x[0], x[1], tt[0], tt[1]);
        });
    }

    /** Gathers copy, scatters add in index order with the same per-addition rounding: all bit-equal. */
    @Test
    void indexOpsAreBitExact() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int rows = c.m(), cc = c.n(), m = c.b() * 4;
            Tensor[] table = both(c.dt(), normal(r, rows * cc, 2), rows, cc);
            long[] ids = new long[m];
            for (int i = 0; i < m; i++) ids[i] = r.nextInt(rows);            // duplicates likely
            Tensor[] id2 = bothIds(ids, c.b(), 4), id1 = bothIds(ids, m);
            Tensor[] idI32 = {CPU.cast(id1[0], DType.I32), ND4J.cast(id1[1], DType.I32)};
            assertExact("embedding", CPU.embedding(table[0], id2[0]), ND4J.embedding(table[1], id2[1]));
            assertExact("gatherRows I32", CPU.gatherRows(table[0], idI32[0]), ND4J.gatherRows(table[1], idI32[1]));
            Tensor[] dy = both(c.dt(), normal(r, m * cc, 1), c.b(), 4, cc);
            assertExact("embeddingBackward", CPU.embeddingBackward(dy[0], id2[0], rows),
                    ND4J.embeddingBackward(dy[1], id2[1], rows));
            Tensor[] src = both(c.dt(), normal(r, m * cc, 1), m, cc);
            Tensor tc = CPU.copy(table[0]), tn = ND4J.copy(table[1]);
            CPU.indexAddInPlace(tc, id1[0], src[0]);
            ND4J.indexAddInPlace(tn, id1[1], src[1]);
            assertExact("indexAddInPlace", tc, tn);
            // last-dim gather/scatter: x [B, M, E], idx [B, M, k]
            int e = cc, k = 1 + r.nextInt(e);
            long[] li = new long[c.b() * rows * k];
            for (int i = 0; i < li.length; i++) li[i] = r.nextInt(e);
            Tensor[] xe = both(c.dt(), normal(r, c.b() * rows * e, 1), c.b(), rows, e), ie = bothIds(li, c.b(), rows, k);
            assertExact("gatherLastDim", CPU.gatherLastDim(xe[0], ie[0]), ND4J.gatherLastDim(xe[1], ie[1]));
            Tensor[] ge = both(c.dt(), normal(r, li.length, 1), c.b(), rows, k);
            assertExact("scatterAddLastDim", CPU.scatterAddLastDim(ge[0], ie[0], e), ND4J.scatterAddLastDim(ge[1], ie[1], e));
            closeAll(table[0], table[1], id2[0], id2[1], id1[0], id1[1], idI32[0], idI32[1], dy[0], dy[1], src[0], src[1],
                    tc, tn, xe[0], xe[1], ie[0], ie[1], ge[0], ge[1]);
        });
    }

    /** topk: values and indices bit-equal, with many ties (small integers) so the lower-index rule is exercised. */
    @Test
    void topkIsBitExactWithTies() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            double[] v = new double[numel(s)];
            for (int i = 0; i < v.length; i++) v[i] = r.nextInt(5) - 2 + (r.nextInt(4) == 0 ? r.nextGaussian() : 0);
            Tensor[] x = both(c.dt(), v, s);
            int k = 1 + r.nextInt(c.n());
            try (TopK o = CPU.topk(x[0], k); TopK n = ND4J.topk(x[1], k)) {
                assertExact("topk values", o.values(), n.values());
                assertExact("topk indices", o.indices(), n.indices());
            }
            closeAll(x);
        });
    }
}
