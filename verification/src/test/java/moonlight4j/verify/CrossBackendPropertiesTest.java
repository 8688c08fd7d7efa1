package moonlight4j.verify;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static moonlight4j.verify.CrossBackendSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;

/**
 * Every op of the {@code nd4j} backend agrees with the {@code cpu} oracle on random shapes (odd sizes, single rows,
 * batches) and dtypes (F32, BF16, F64). QuickTheories draws the case (dtype, sizes, data seed) and reports it.
 *
 * <p><b>Error model.</b> u = 2⁻²⁴ for F32/BF16 (both compute in fp32), 2⁻⁵³ for F64. A sum of K terms in any order
 * is within γ_K·Σ|terms| ≈ K·u·Σ|terms| of the exact sum (Higham, Accuracy and Stability, §4.2), and the oracle
 * (index order) and ND4J (blocked BLAS/libnd4j order) each obey it, so they differ by at most 2·K·u·Σ|terms|; for
 * a matmul element that is {@code |ĉ − c| ≤ 2·K·u·Σ_k |a_mk||b_kn|}. For BF16 each backend then rounds its fp32
 * value once to bf16, which can flip the last bit: one more bf16 ulp of the result per bf16 rounding in the chain.
 * Ops that are a single correctly rounded fp32 operation, data movement and scatters in index order must agree
 * bit for bit. Composite elementwise ops (exp, sigmoid, ...) are evaluated in double by the oracle and in fp32 by
 * libnd4j: each bound is a count of fp32 roundings times u times the magnitude, written next to the op, with the
 * largest error measured here (in units of u·scale, printed by {@link CrossBackendSupport#printWorst} after the run;
 * BF16 as the fraction of its bound used: BF16 showed no or rare bf16 flips, so its figures are near 0).
 */
class CrossBackendPropertiesTest {

    @AfterAll
    static void report() {
        printWorst("CrossBackendPropertiesTest");
    }

    // ------------------------------------------------------------------ linear algebra

    /**
     * matmul, 2D and batched (b [B,K,N] or shared [K,N]), all four transpose flags: |ĉ − c| ≤ 2·K·u·Σ_k|a||b| (the
     * γ_K bound for each backend) + 1 bf16 ulp for BF16. Measured worst (K ≤ 17): 2.6·u·Σ|a||b| for F32, 2.8 for F64,
     * far below the worst-case 2K, as expected for random signs.
     */
    @Test
    void matmulAgreesWithinTheSummationBound() {
        qt().withExamples(EXAMPLES).forAll(cases(), integers().between(0, 7)).checkAssert((c, flags) -> {
            boolean ta = (flags & 1) != 0, tb = (flags & 2) != 0, batched = (flags & 4) != 0;
            Random r = new Random(c.seed());
            int m = c.m(), k = c.n(), n = 1 + r.nextInt(13), bt = c.b();
            boolean sharedB = batched && r.nextBoolean();
            int[] sa = ta ? new int[]{k, m} : new int[]{m, k};
            int[] sb = tb ? new int[]{n, k} : new int[]{k, n};
            if (batched) sa = new int[]{bt, sa[0], sa[1]};
            if (batched && !sharedB) sb = new int[]{bt, sb[0], sb[1]};
            double[] av = normal(r, numel(sa), 1), bv = normal(r, numel(sb), 1);
            Tensor[] a = both(c.dt(), av, sa), b = both(c.dt(), bv, sb);
            Tensor o = CPU.matmul(a[0], b[0], ta, tb), nd = ND4J.matmul(a[1], b[1], ta, tb);
            // Σ_k |a||b| per output element, from the dtype-rounded inputs, in fp64 on the oracle
            double[] absA = abs(values(a[0])), absB = abs(values(b[0]));
            Tensor absAt = CPU.fromDoubles(absA, sa), absBt = CPU.fromDoubles(absB, sb);
            Tensor s = CPU.matmul(absAt, absBt, ta, tb);
            assertClose("matmul", c, o, nd, 2.0 * k, values(s), 1);
            closeAll(a[0], a[1], b[0], b[1], o, nd, absAt, absBt, s);
        });
    }

    /**
     * Results large enough for nd4j's buffer pool (64 KiB and up) whose lengths fall between its size classes sit at
     * the start of longer buffers: data movement and the element-wise ops stay bit-equal to the oracle and the
     * products (the symmetric {@code X·Xᵀ} among them) within the summation bound above. Three such lengths of one
     * class run one after another, so each runs on memory the one before left behind. Measured worst (K = 129):
     * matmul 9.5·u·Σ|a||b| in F32 and 2.9 in F64, the symmetric product 4.0 and 2.4, BF16 under 0.04 of its bound.
     */
    @Test
    void opsOnResultsShorterThanTheirPooledBuffersAgree() {
        int n = 129;
        for (DType dt : FLOATING) {
            for (int m : new int[]{131, 135, 133}) {             // 16,899 to 17,415 elements: one class, 18,432
                Random r = new Random(m);
                Case c = new Case(dt, 1, m, n, m);
                Tensor[] x = both(dt, normal(r, m * n, 2), m, n), y = both(dt, normal(r, m * n, 2), m, n);
                Tensor[] w = both(dt, normal(r, n, 1), n);
                Tensor[] s = {CPU.add(x[0], y[0]), ND4J.add(x[1], y[1])};   // pooled from here on
                assertExact("add", s[0], s[1]);
                assertExact("mul (row broadcast)", CPU.mul(s[0], w[0]), ND4J.mul(s[1], w[1]));
                assertExact("mulScalar", CPU.mulScalar(s[0], 0.75), ND4J.mulScalar(s[1], 0.75));
                assertExact("transpose", CPU.transpose(s[0]), ND4J.transpose(s[1]));
                assertExact("reshape", CPU.reshape(s[0], n, m), ND4J.reshape(s[1], n, m));
                assertExact("concat", CPU.concat(0, s[0], x[0]), ND4J.concat(0, s[1], x[1]));
                assertExact("slice", CPU.slice(s[0], 0, 1, m - 1), ND4J.slice(s[1], 0, 1, m - 1));
                DType other = dt == DType.F32 ? DType.BF16 : DType.F32;
                assertExact("cast", CPU.cast(s[0], other), ND4J.cast(s[1], other));
                Tensor absS = CPU.fromDoubles(abs(values(s[0])), m, n), absY = CPU.fromDoubles(abs(values(y[0])), m, n);
                assertClose("matmul (pooled)", c, CPU.matmul(s[0], y[0], false, true), ND4J.matmul(s[1], y[1], false, true),
                        2.0 * n, values(CPU.matmul(absS, absY, false, true)), 1);
                assertClose("gram (pooled)", c, CPU.matmul(s[0], s[0], false, true), ND4J.matmul(s[1], s[1], false, true),
                        2.0 * n, values(CPU.matmul(absS, absS, false, true)), 1);
                closeAll(x[0], x[1], y[0], y[1], w[0], w[1], s[0], s[1], absS, absY);
            }
        }
    }

    // ------------------------------------------------------------------ elementwise

    /** add/sub/mul/div with broadcasting and the scalar ops: one correctly rounded op each, so bit-equal. */
    @Test
    void arithmeticIsBitExactWithBroadcasting() {
        qt().withExamples(EXAMPLES).forAll(cases(), integers().between(0, 3)).checkAssert((c, form) -> {
            Random r = new Random(c.seed());
            int[] sa = {c.b(), c.m(), c.n()};
            int[] sb = switch (form) {
                case 0 -> new int[]{c.b(), c.m(), c.n()};
                case 1 -> new int[]{c.n()};
                case 2 -> new int[]{c.m(), 1};
                default -> new int[]{c.b(), 1, c.n()};
            };
            Tensor[] a = both(c.dt(), normal(r, numel(sa), 3), sa), b = both(c.dt(), normal(r, numel(sb), 3), sb);
            assertExact("add", CPU.add(a[0], b[0]), ND4J.add(a[1], b[1]));
            assertExact("sub", CPU.sub(a[0], b[0]), ND4J.sub(a[1], b[1]));
            assertExact("mul", CPU.mul(a[0], b[0]), ND4J.mul(a[1], b[1]));
            assertExact("div", CPU.div(a[0], b[0]), ND4J.div(a[1], b[1]));
            assertExact("add (b first)", CPU.add(b[0], a[0]), ND4J.add(b[1], a[1]));
            double s = r.nextGaussian() * 5;
            assertExact("addScalar", CPU.addScalar(a[0], s), ND4J.addScalar(a[1], s));
            assertExact("mulScalar", CPU.mulScalar(a[0], s), ND4J.mulScalar(a[1], s));
            Tensor[] pos = both(c.dt(), abs(normal(r, numel(sa), 3)), sa);
            assertExact("sqrt", CPU.sqrt(pos[0]), ND4J.sqrt(pos[1]));
            double w = r.nextBoolean() ? r.nextDouble() * 0.5 : 0.5 + r.nextDouble() * 0.5;
            Tensor[] b2 = both(c.dt(), normal(r, numel(sa), 3), sa);
            assertExact("lerp", CPU.lerp(a[0], b2[0], w), ND4J.lerp(a[1], b2[1], w));
        });
    }

    /**
     * Transcendental and composite elementwise ops, element bound k·u·|scale|: exp/log/sigmoid are libm-style fp32
     * (≤ 2 ulp) against double-then-round (½ ulp), so k = 4 (measured worst over runs: exp 1.8, log 2.0, sigmoid 2.2 for F32;
     * ≤ 2.4 for F64); silu = x·σ(x) adds one rounding, k = 6 (measured 2.8); the backward ops chain 3–4 fp32
     * roundings, one of them of {@code 1 − σ} whose absolute error is u, so their scale is the magnitude of the
     * factor product, k = 12 (measured 2.0 sigmoidBackward, 3.3 siluBackward). BF16 stayed bit-equal.
     */
    @Test
    void transcendentalOpsAgreeWithinAFewUlps() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            int n = numel(s);
            double[] xv = normal(r, n, 3), dyv = normal(r, n, 1);
            Tensor[] x = both(c.dt(), xv, s), dy = both(c.dt(), dyv, s), pos = both(c.dt(), abs(xv), s);
            double[] xr = values(x[0]), dyr = values(dy[0]);
            Tensor oe = CPU.exp(x[0]);
            assertClose("exp", c, oe, ND4J.exp(x[1]), 4, abs(values(oe)), 1);
            Tensor ol = CPU.log(pos[0]);
            assertClose("log", c, ol, ND4J.log(pos[1]), 4, abs(values(ol)), 1);
            Tensor os = CPU.sigmoid(x[0]);
            double[] sig = values(os);
            assertClose("sigmoid", c, os, ND4J.sigmoid(x[1]), 4, sig, 1);
            Tensor osl = CPU.silu(x[0]);
            assertClose("silu", c, osl, ND4J.silu(x[1]), 6, abs(values(osl)), 1);
            double[] sbScale = new double[n], slScale = new double[n];
            for (int i = 0; i < n; i++) {
                double sg = 1 / (1 + Math.exp(-xr[i]));
                sbScale[i] = Math.abs(dyr[i]) * sg;                                  // |dy|·σ·max(σ, 1 − σ) ≤ |dy|·σ
                slScale[i] = Math.abs(dyr[i]) * sg * (1 + Math.abs(xr[i]));
            }
            Tensor[] y = {os, ND4J.sigmoid(x[1])};
            // sigmoidBackward takes y; use the oracle's y on both so only the backward formula is compared
            Tensor yN = ND4J.fromDoubles(values(os), s);
            Tensor yNd = ND4J.cast(yN, c.dt());
            assertClose("sigmoidBackward", c, CPU.sigmoidBackward(os, dy[0]), ND4J.sigmoidBackward(yNd, dy[1]), 12, sbScale, 1);
            assertClose("siluBackward", c, CPU.siluBackward(x[0], dy[0]), ND4J.siluBackward(x[1], dy[1]), 12, slScale, 1);
            closeAll(x[0], x[1], dy[0], dy[1], pos[0], pos[1], y[1], yN, yNd);
        });
    }

    // ------------------------------------------------------------------ reductions

    /**
     * sum over each axis, sumAll, sumSquares: |Δ| ≤ 2·K·u·Σ|terms| + 1 bf16 ulp; frobeniusNorm: the relative error
     * of Σx² halves under √ and √ adds one rounding, bound (K + 2)·u·‖x‖. maxAll and allFinite are exact.
     * Measured: every sum bit-equal to the oracle at these sizes (K ≤ 459: libnd4j sums short rows in order).
     */
    @Test
    void reductionsAgreeWithinTheSummationBound() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            double[] xv = normal(r, numel(s), 2);
            Tensor[] x = both(c.dt(), xv, s);
            Tensor ax = CPU.fromDoubles(abs(values(x[0])), s);
            for (int axis = -3; axis < 3; axis++) {
                Tensor absSum = CPU.sum(ax, axis);
                assertClose("sum axis " + axis, c, CPU.sum(x[0], axis), ND4J.sum(x[1], axis), 2.0 * s[Math.floorMod(axis, 3)],
                        values(absSum), 1);
                absSum.close();
            }
            int k = numel(s);
            double sumAbs = CPU.item(CPU.sumAll(ax)), sumSq = CPU.item(CPU.sumSquares(ax));
            assertClose("sumAll", c, CPU.sumAll(x[0]), ND4J.sumAll(x[1]), 2.0 * k, new double[]{sumAbs}, 1);
            assertClose("sumSquares", c, CPU.sumSquares(x[0]), ND4J.sumSquares(x[1]), 2.0 * k, new double[]{sumSq}, 1);
            assertClose("frobeniusNorm", c, CPU.frobeniusNorm(x[0]), ND4J.frobeniusNorm(x[1]), k + 2.0,
                    new double[]{Math.sqrt(sumSq)}, 1);
            assertExact("maxAll", CPU.maxAll(x[0]), ND4J.maxAll(x[1]));
            assertThat(ND4J.allFinite(x[1])).isEqualTo(CPU.allFinite(x[0])).isTrue();
            closeAll(x[0], x[1], ax);
        });
    }

    /** NaN and infinities: maxAll is NaN when any element is, allFinite false; the same on both. */
    @Test
    void nonFiniteValuesAreReportedAlike() {
        for (DType dt : FLOATING) {
            for (double bad : new double[]{Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                Tensor[] x = both(dt, new double[]{1, bad, -2, 3}, 2, 2);
                assertThat(ND4J.allFinite(x[1])).as(dt + " " + bad).isFalse().isEqualTo(CPU.allFinite(x[0]));
                Double nd = ND4J.item(ND4J.maxAll(x[1])), cpu = CPU.item(CPU.maxAll(x[0]));
                assertThat(nd).as(dt + " " + bad).isEqualTo(cpu);   // Double.equals: NaN equals NaN
                closeAll(x);
            }
        }
    }
}
