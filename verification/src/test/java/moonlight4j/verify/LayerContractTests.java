package moonlight4j.verify;

import moonlight4j.api.DType;
import moonlight4j.api.RmsNormGrads;
import moonlight4j.api.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static moonlight4j.verify.ContractFixtures.assertClose;
import static moonlight4j.verify.ContractFixtures.gaussian;
import static moonlight4j.verify.ContractFixtures.round;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Contract tests of matmul and the fused layer ops (RMSNorm, softmax, cross-entropy, RoPE), forward and backward,
 * against the fp64 formulas of {@link Fp64Reference} (part of {@link BackendContractTest}).
 */
abstract class LayerContractTests extends ElementwiseContractTests {

    /** {a shape, b shape, transA, transB}: odd sizes, 1-row, K = 1, sizes past typical block edges, batches. */
    static final Object[][] MATMUL_CASES = {
            {new int[]{1, 1}, new int[]{1, 1}, false, false},
            {new int[]{1, 7}, new int[]{7, 5}, false, false},
            {new int[]{5, 1}, new int[]{1, 3}, false, false},
            {new int[]{17, 33}, new int[]{33, 9}, false, false},
            {new int[]{33, 17}, new int[]{33, 9}, true, false},
            {new int[]{17, 33}, new int[]{9, 33}, false, true},
            {new int[]{33, 17}, new int[]{9, 33}, true, true},
            {new int[]{70, 131}, new int[]{131, 520}, false, false},
            {new int[]{3, 6, 11}, new int[]{3, 11, 4}, false, false},
            {new int[]{3, 11, 6}, new int[]{3, 4, 11}, true, true},
            {new int[]{2, 5, 11}, new int[]{11, 7}, false, false},
            {new int[]{2, 5, 11}, new int[]{7, 11}, false, true},
            {new int[]{2, 1, 9}, new int[]{2, 9, 1}, false, false},
    };

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void matmulWithBatchesTransposesAndOddSizes(DType dt) {
        assumeSupported(dt);
        Random r = rng("matmul", dt);
        for (Object[] c : MATMUL_CASES) {
            int[] sa = (int[]) c[0], sb = (int[]) c[1];
            boolean ta = (Boolean) c[2], tb = (Boolean) c[3];
            double[] a = gaussian(r, dt, numel(sa), 1.0), b = gaussian(r, dt, numel(sb), 1.0);
            Fp64Reference.Result ref = Fp64Reference.matmul(a, sa, b, sb, ta, tb);
            Tensor y = backend().matmul(t(dt, a, sa), t(dt, b, sb), ta, tb);
            int k = ta ? sa[sa.length - 2] : sa[sa.length - 1];
            assertThat(y.numel()).isEqualTo(ref.value().length);
            // fp32 dot product: |error| ≤ γ_K Σ|a_k b_k| (Higham §3.1), +1 for the bf16 cross term
            assertClose("matmul", dt, vals(y), ref.value(), ref.scale(), k + 1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void rmsNormAndItsGradient(DType dt) {
        assumeSupported(dt);
        Random r = rng("rmsNorm", dt);
        int[][] shapes = {{3, 16}, {2, 3, 33}, {1, 8}};
        for (int[] s : shapes) {
            int c = s[s.length - 1], rows = numel(s) / c;
            double eps = c == 33 ? 1e-6 : 1e-5;
            double[] x = gaussian(r, dt, numel(s), 2.0), w = gaussian(r, dt, c, 1.0), dy = gaussian(r, dt, numel(s), 1.0);
            Tensor y = backend().rmsNorm(t(dt, x, s), t(dt, w, c), eps);
            assertThat(y.shape()).containsExactly(s);
            // r = rsqrt(mean(x²)+eps) carries ≈ (C/2 + 3) fp32 roundings; h = x·r is rounded to the dtype (docs/model.md#rmsnorm),
            // then w·h again: two storage roundings
            assertClose("rmsNorm", dt, vals(y), Fp64Reference.rmsNorm(x, w, eps), null, 1, c + 6);

            double[] dx = new double[x.length], dxScale = new double[x.length], dw = new double[c], dwScale = new double[c];
            for (int row = 0; row < rows; row++) {
                double rr = Fp64Reference.rmsInv(x, row, c, eps), dot = 0, dotAbs = 0;
                for (int i = 0; i < c; i++) {
                    dot += dy[row * c + i] * w[i] * x[row * c + i];
                    dotAbs += Math.abs(dy[row * c + i] * w[i] * x[row * c + i]);
                }
                for (int j = 0; j < c; j++) {
                    int idx = row * c + j;
                    dx[idx] = rr * dy[idx] * w[j] - rr * rr * rr * x[idx] * dot / c;
                    dxScale[idx] = rr * Math.abs(dy[idx] * w[j]) + rr * rr * rr * Math.abs(x[idx]) * dotAbs / c;
                    dw[j] += dy[idx] * x[idx] * rr;
                    dwScale[j] += Math.abs(dy[idx] * x[idx] * rr);
                }
            }
            try (RmsNormGrads g = backend().rmsNormBackward(t(dt, x, s), t(dt, w, c), eps, t(dt, dy, s))) {
                // dx: the dot (C terms) plus r³ (3·(C/2 + 3) roundings of r): ≤ 3C + 16 fp32 roundings of the terms
                assertClose("rmsNormBackward dx", dt, vals(g.dx()), dx, dxScale, 3 * c + 16);
                assertClose("rmsNormBackward dw", dt, vals(g.dw()), dw, dwScale, rows + c + 8);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void softmaxAndItsGradient(DType dt) {
        assumeSupported(dt);
        Random r = rng("softmax", dt);
        int[][] shapes = {{3, 7}, {2, 2, 33}, {1, 5}};
        for (int[] s : shapes) {
            int c = s[s.length - 1];
            double[] x = gaussian(r, dt, numel(s), 4.0), dy = gaussian(r, dt, numel(s), 1.0);
            double range = 0;
            for (int i = 0; i < x.length; i++) range = Math.max(range, Math.abs(x[i]) * 2);
            double[] y = Fp64Reference.softmax(x, c);
            // Σ of C positive terms (γ_C), exp of an argument x − m rounded with error |x − m|·u, the division
            assertClose("softmax", dt, vals(backend().softmax(t(dt, x, s))), y, null, c + range + 4);

            double[] yr = new double[y.length], dx = new double[y.length], scale = new double[y.length];
            for (int i = 0; i < y.length; i++) yr[i] = round(dt, y[i]);
            for (int base = 0; base < y.length; base += c) {
                double dot = 0, dotAbs = 0;
                for (int j = 0; j < c; j++) {
                    dot += dy[base + j] * yr[base + j];
                    dotAbs += Math.abs(dy[base + j] * yr[base + j]);
                }
                for (int j = 0; j < c; j++) {
                    dx[base + j] = yr[base + j] * (dy[base + j] - dot);
                    scale[base + j] = yr[base + j] * (Math.abs(dy[base + j]) + dotAbs);
                }
            }
            assertClose("softmaxBackward", dt, vals(backend().softmaxBackward(t(dt, yr, s), t(dt, dy, s))), dx, scale, c + 3);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void crossEntropyAndItsGradient(DType dt) {
        assumeSupported(dt);
        Random r = rng("crossEntropy", dt);
        int n = 6, v = 11;
        long ignore = -100;
        double[] x = gaussian(r, dt, n * v, 3.0);
        long[] targets = {3, ignore, 0, 10, 10, 5};
        double loss = 0, lossScale = 0, range = 0;
        double[] grad = new double[n * v], gradScale = new double[n * v];
        double scale = 1.0 / 5;
        for (double xv : x) range = Math.max(range, 2 * Math.abs(xv));
        for (int row = 0; row < n; row++) {
            if (targets[row] == ignore) continue;
            double m = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < v; j++) m = Math.max(m, x[row * v + j]);
            for (int j = 0; j < v; j++) sum += Math.exp(x[row * v + j] - m);
            int tgt = (int) targets[row];
            loss += m + Math.log(sum) - x[row * v + tgt];
            lossScale += 1 + Math.abs(x[row * v + tgt] - m) + Math.abs(Math.log(sum));
            for (int j = 0; j < v; j++) {
                double p = Math.exp(x[row * v + j] - m) / sum;
                grad[row * v + j] = scale * (p - (j == tgt ? 1 : 0));
                gradScale[row * v + j] = scale * (p + (j == tgt ? 1 : 0));
            }
        }
        Tensor logits = t(dt, x, n, v), tg = backend().fromLongs(targets, n);
        Tensor l = backend().crossEntropySum(logits, tg, ignore);
        assertThat(l.shape()).isEmpty();
        assertThat(l.dtype()).isEqualTo(dt);
        // per row: log Σe^(x−m) (γ_V and the exp-argument errors) and x_t − m; rows summed
        assertClose("crossEntropySum", dt, new double[]{backend().item(l)}, new double[]{loss},
                new double[]{lossScale}, v + range + 8);
        assertClose("crossEntropyBackward", dt, vals(backend().crossEntropyBackward(logits, tg, ignore, scale)),
                grad, gradScale, v + range + 6);
        // every row ignored: zero loss, zero gradient
        Tensor none = backend().fromLongs(new long[]{ignore, ignore, ignore, ignore, ignore, ignore}, n);
        assertThat(backend().item(backend().crossEntropySum(logits, none, ignore))).isZero();
        assertThat(vals(backend().crossEntropyBackward(logits, none, ignore, 1.0))).containsOnly(0.0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void ropeAndItsGradient(DType dt) {
        assumeSupported(dt);
        Random r = rng("rope", dt);
        Object[][] cases = {
                {new int[]{2, 3, 5, 8}, new long[]{0, 1, 2, 3, 4, 0, 1, 2, 0, 1}, 50000.0},   // restart mid-sequence
                {new int[]{1, 2, 3, 64}, new long[]{7, 300, 4095}, 10000.0},                  // large positions, D = 64
                {new int[]{1, 1, 1, 2}, new long[]{1}, 50000.0},
        };
        for (Object[] c : cases) {
            int[] s = (int[]) c[0];
            long[] pos = (long[]) c[1];
            double theta = (Double) c[2];
            double[] x = gaussian(r, dt, numel(s), 1.0), dy = gaussian(r, dt, numel(s), 1.0);
            Tensor pid = backend().fromLongs(pos, s[0], s[2]);
            Fp64Reference.Result ref = Fp64Reference.rope(dt, x, s, pos, theta);
            // bf16/fp32 cos/sin and the two products are rounded to the dtype (3 storage roundings of the terms);
            // the fp32 angle pos·inv_freq has error ≈ 3·pos·u (inv_freq and the product), 4·maxPos + 8 allows for it.
            // BF16 tables are bf16 (pos, inv_freq and their product rounded to bf16, as the release's after
            // model.to(bfloat16)); the reference uses that angle, so only cos/sin's fp32 evaluation remains: 8.
            double nAngle = dt == DType.BF16 ? 8 : 4 * Fp64Reference.maxAngle(pos) + 8;
            Tensor y = backend().rope(t(dt, x, s), pid, theta);
            assertThat(y.shape()).containsExactly(s);
            assertClose("rope", dt, vals(y), ref.value(), ref.scale(), 3, nAngle);

            // backward: rotation by −angle, re-interleaved (the transpose of the forward)
            int half = s[3] / 2;
            double[] dx = new double[dy.length], dxScale = new double[dy.length];
            for (int b = 0; b < s[0]; b++)
                for (int h = 0; h < s[1]; h++)
                    for (int q = 0; q < s[2]; q++) {
                        int base = ((b * s[1] + h) * s[2] + q) * s[3];
                        for (int j = 0; j < half; j++) {
                            double f = Fp64Reference.angle(dt, pos[b * s[2] + q], j, s[3], theta);
                            double ga = dy[base + j], gb = dy[base + half + j];
                            dx[base + 2 * j] = ga * Math.cos(f) + gb * Math.sin(f);
                            dx[base + 2 * j + 1] = -ga * Math.sin(f) + gb * Math.cos(f);
                            dxScale[base + 2 * j] = dxScale[base + 2 * j + 1] = Math.abs(ga) + Math.abs(gb);
                        }
                    }
            assertClose("ropeBackward", dt, vals(backend().ropeBackward(t(dt, dy, s), pid, theta)), dx, dxScale, 3, nAngle);
            if (dt == DType.F64) {
                // adjoint identity ⟨rope(x), dy⟩ = ⟨x, ropeBackward(dy)⟩
                double[] yv = vals(y), gv = vals(backend().ropeBackward(t(dt, dy, s), pid, theta));
                double lhs = 0, rhs = 0, mag = 0;
                for (int i = 0; i < x.length; i++) {
                    lhs += yv[i] * dy[i];
                    rhs += x[i] * gv[i];
                    mag += Math.abs(x[i] * gv[i]);
                }
                assertThat(Math.abs(lhs - rhs)).as("rope adjoint").isLessThanOrEqualTo(1e-12 * mag);
            }
        }
    }
}
