package moonlight4j.verify;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

import static moonlight4j.verify.ContractFixtures.assertClose;
import static moonlight4j.verify.ContractFixtures.gaussian;
import static moonlight4j.verify.ContractFixtures.round;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Contract tests of the elementwise ops, reductions and in-place updates against direct fp64 formulas (part of
 * {@link BackendContractTest}). Tolerances follow {@link ContractFixtures}: a single correctly rounded operation
 * gets one storage rounding plus one fp32 rounding (an implementation may form a/b as a·(1/b)); the
 * transcendental ones get a few fp32 ulps (fp32 math libraries guarantee 1–4 ulps).
 */
abstract class ElementwiseContractTests extends ContractTestBase {

    /** Shapes (a, b) covering equal shapes, broadcasting both ways, a scalar, 1-row and odd sizes. */
    static final int[][][] BINARY_SHAPES = {
            {{3, 5}, {3, 5}},
            {{2, 3, 4}, {3, 1}},
            {{1}, {4, 1, 2}},
            {{5}, {}},
            {{1, 7}, {7}},
            {{2, 1, 3}, {1, 4, 1}},
    };

    private void checkBinary(String op, DType dt, DoubleBinaryOperator exact,
                             java.util.function.BinaryOperator<Tensor> f) {
        assumeSupported(dt);
        Random r = rng(op, dt);
        for (int[][] sh : BINARY_SHAPES) {
            double[] a = gaussian(r, dt, numel(sh[0]), 1.0), b = awayFromZero(r, dt, numel(sh[1]));
            Tensor y = f.apply(t(dt, a, sh[0]), t(dt, b, sh[1]));
            int[] out = moonlight4j.api.Shapes.broadcast(op, sh[0], sh[1]);
            assertThat(y.shape()).as(op + " shape").containsExactly(out);
            assertThat(y.dtype()).isEqualTo(dt);
            int[] ia = Fp64Reference.broadcastIndex(sh[0], out), ib = Fp64Reference.broadcastIndex(sh[1], out);
            double[] ref = new double[ia.length];
            for (int i = 0; i < ref.length; i++) ref[i] = exact.applyAsDouble(a[ia[i]], b[ib[i]]);
            // one correctly rounded op: storage rounding + 1 fp32 rounding of slack (measured ≤ 0.5 of this on cpu)
            assertClose(op, dt, vals(y), ref, null, 1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void add(DType dt) {
        checkBinary("add", dt, Double::sum, backend()::add);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void sub(DType dt) {
        checkBinary("sub", dt, (x, y) -> x - y, backend()::sub);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void mul(DType dt) {
        checkBinary("mul", dt, (x, y) -> x * y, backend()::mul);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void div(DType dt) {
        checkBinary("div", dt, (x, y) -> x / y, backend()::div);
    }

    /** Scalars are converted to the dtype first (SPI conventions), so the reference uses round(dt, s). */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void scalarOpsConvertTheScalarToTheDtypeFirst(DType dt) {
        assumeSupported(dt);
        Random r = rng("scalar", dt);
        double[] x = gaussian(r, dt, 37, 1.0);
        for (double s : new double[]{1e-7, 3.4445, -4.775, 0.1}) {
            double sv = round(dt, s);
            double[] add = new double[x.length], mul = new double[x.length], addScale = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                add[i] = x[i] + sv;
                mul[i] = x[i] * sv;
                addScale[i] = Math.abs(x[i]) + Math.abs(sv);
            }
            assertClose("addScalar", dt, vals(backend().addScalar(t(dt, x, 37), s)), add, addScale, 0, 1);
            assertClose("mulScalar", dt, vals(backend().mulScalar(t(dt, x, 37), s)), mul, null, 1);
        }
    }

    private void checkUnary(String op, DType dt, double[] x, DoubleUnaryOperator exact,
                            java.util.function.UnaryOperator<Tensor> f, double nCompute, boolean absoluteNearZero) {
        int[] shape = {x.length / 3, 3};
        Tensor y = f.apply(t(dt, x, shape));
        assertThat(y.shape()).containsExactly(shape);
        double[] ref = new double[x.length], scale = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            ref[i] = exact.applyAsDouble(x[i]);
            scale[i] = absoluteNearZero ? Math.max(Math.abs(ref[i]), 1.0) : Math.abs(ref[i]);
        }
        assertClose(op, dt, vals(y), ref, scale, nCompute);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void unaryFunctions(DType dt) {
        assumeSupported(dt);
        Random r = rng("unary", dt);
        double[] pos = abs(awayFromZero(r, dt, 63)), any = gaussian(r, dt, 63, 3.0);
        for (int i = 0; i < 3; i++) pos[i] = round(dt, 1.0 + i * 0.0078125);        // log near 1
        checkUnary("sqrt", dt, pos, Math::sqrt, backend()::sqrt, 1, false);
        checkUnary("exp", dt, any, Math::exp, backend()::exp, 4, false);
        // log: fp32 libraries bound the error by ulps of the result, or by ulp(1) when computed via log2·ln2
        checkUnary("log", dt, pos, Math::log, backend()::log, 4, true);
        checkUnary("sigmoid", dt, any, v -> 1 / (1 + Math.exp(-v)), backend()::sigmoid, 6, false);
        checkUnary("silu", dt, any, v -> v / (1 + Math.exp(-v)), backend()::silu, 8, false);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void sigmoidAndSiluBackward(DType dt) {
        assumeSupported(dt);
        Random r = rng("actBackward", dt);
        int n = 45;
        double[] x = gaussian(r, dt, n, 3.0), dy = gaussian(r, dt, n, 1.0), y = new double[n];
        x[0] = round(dt, -1.2785);                                        // silu' crosses zero here: cancellation
        for (int i = 0; i < n; i++) y[i] = round(dt, 1 / (1 + Math.exp(-x[i])));
        double[] refS = new double[n], scaleS = new double[n], refSilu = new double[n], scaleSilu = new double[n];
        for (int i = 0; i < n; i++) {
            refS[i] = dy[i] * y[i] * (1 - y[i]);
            scaleS[i] = Math.abs(dy[i] * y[i]) * (1 + Math.abs(y[i]));
            double s = 1 / (1 + Math.exp(-x[i]));
            refSilu[i] = dy[i] * s * (1 + x[i] * (1 - s));
            scaleSilu[i] = Math.abs(dy[i] * s) * (1 + Math.abs(x[i]) * (1 + s));
        }
        assertClose("sigmoidBackward", dt, vals(backend().sigmoidBackward(t(dt, y, 5, 9), t(dt, dy, 5, 9))), refS, scaleS, 4);
        assertClose("siluBackward", dt, vals(backend().siluBackward(t(dt, x, 5, 9), t(dt, dy, 5, 9))), refSilu, scaleSilu, 10);
    }

    /** lerp with both branches (|w| &lt; 0.5 and ≥ 0.5), the weight converted to the dtype first. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void lerpAndLerpInPlace(DType dt) {
        assumeSupported(dt);
        Random r = rng("lerp", dt);
        double[] a = gaussian(r, dt, 24, 1.0), b = gaussian(r, dt, 24, 1.0);
        for (double w : new double[]{0.1, 0.25, 0.75, 0.95, 1.0}) {
            double wv = round(dt, w);
            double[] ref = new double[a.length], scale = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                ref[i] = a[i] + wv * (b[i] - a[i]);
                scale[i] = Math.abs(a[i]) + Math.abs(b[i]);               // |w|, |1 − w| ≤ 1
            }
            assertClose("lerp", dt, vals(backend().lerp(t(dt, a, 4, 6), t(dt, b, 4, 6), w)), ref, scale, 4);
            Tensor ta = t(dt, a, 4, 6);
            backend().lerpInPlace(ta, t(dt, b, 4, 6), w);
            assertClose("lerpInPlace", dt, vals(ta), ref, scale, 4);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void inPlaceUpdates(DType dt) {
        assumeSupported(dt);
        Random r = rng("inPlace", dt);
        int n = 30;
        double[] p = gaussian(r, dt, n, 1.0);
        // scale: p·round(dt, s); note bf16(0.999) = 1, so a bf16 weight decay of 0.999 is the identity
        double[] ref = new double[n];
        Tensor tp = null;
        for (double s : new double[]{0.999, 0.9, -3.3}) {
            tp = t(dt, p, 5, 6);
            backend().scaleInPlace(tp, s);
            for (int i = 0; i < n; i++) ref[i] = p[i] * round(dt, s);
            assertClose("scaleInPlace", dt, vals(tp), ref, null, 1);
        }
        // axpy with u of every floating dtype; α = −2e-4 is not representable: whether it is first rounded to the
        // storage (bf16) or compute (fp32) precision, the result stays within u_s·|α·u| + 2 fp32 roundings
        for (DType ud : new DType[]{DType.F32, DType.F64, DType.BF16}) {
            if (!backend().dtypes().contains(ud)) continue;
            double[] u = gaussian(r, ud, n, 100.0);
            tp = t(dt, p, 5, 6);
            backend().axpyInPlace(tp, -2e-4, t(ud, u, 5, 6));
            double[] scale = new double[n];
            for (int i = 0; i < n; i++) {
                ref[i] = p[i] - 2e-4 * u[i];
                scale[i] = Math.abs(p[i]) + Math.abs(2e-4 * u[i]);
            }
            assertClose("axpyInPlace", dt, vals(tp), ref, scale, 1, 3);
        }
        // copyInto rounds to the destination dtype exactly as cast does
        for (DType sd : new DType[]{DType.F32, DType.F64, DType.BF16}) {
            if (!backend().dtypes().contains(sd)) continue;
            double[] s = gaussian(r, sd, n, 1.0);
            tp = t(dt, p, 5, 6);
            backend().copyInto(tp, t(sd, s, 5, 6));
            double[] exp = new double[n];
            for (int i = 0; i < n; i++) exp[i] = round(dt, s[i]);
            ContractFixtures.assertExact("copyInto " + sd + "→" + dt, vals(tp), exp);
        }
    }

    // =============================================================== reductions

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void sumOverAnAxis(DType dt) {
        assumeSupported(dt);
        Random r = rng("sum", dt);
        int[][] shapes = {{4, 5, 6}, {1, 7}, {9}};
        for (int[] s : shapes) {
            double[] x = gaussian(r, dt, numel(s), 1.0);
            for (int axis = -1; axis < s.length; axis++) {
                int a = axis < 0 ? s.length - 1 : axis;
                int outer = 1, inner = 1;
                for (int d = 0; d < a; d++) outer *= s[d];
                for (int d = a + 1; d < s.length; d++) inner *= s[d];
                double[] ref = new double[outer * inner], scale = new double[outer * inner];
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                        for (int k = 0; k < s[a]; k++) {
                            double v = x[(o * s[a] + k) * inner + i];
                            ref[o * inner + i] += v;
                            scale[o * inner + i] += Math.abs(v);
                        }
                Tensor y = backend().sum(t(dt, x, s), axis);
                assertThat(y.rank()).isEqualTo(s.length - 1);
                assertClose("sum", dt, vals(y), ref, scale, s[a] + 1);   // γ_n Σ|x|, n = terms (Higham §3.1)
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void fullReductions(DType dt) {
        assumeSupported(dt);
        Random r = rng("reduceAll", dt);
        int n = 301;
        double[] x = gaussian(r, dt, n, 2.0);
        double sum = 0, sumAbs = 0, ss = 0, max = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            sum += v;
            sumAbs += Math.abs(v);
            ss += v * v;
            max = Math.max(max, v);
        }
        Tensor tx = t(dt, x, 7, 43);
        Tensor s = backend().sumAll(tx);
        assertThat(s.shape()).isEmpty();
        assertClose("sumAll", dt, new double[]{backend().item(s)}, new double[]{sum}, new double[]{sumAbs}, n + 1);
        assertClose("sumSquares", dt, new double[]{backend().item(backend().sumSquares(tx))}, new double[]{ss}, null, n + 2);
        // √ halves the relative error of Σx²: (n + 2)/2 + 1 roundings
        assertClose("frobeniusNorm", dt, new double[]{backend().item(backend().frobeniusNorm(tx))},
                new double[]{Math.sqrt(ss)}, null, n / 2.0 + 2);
        assertThat(backend().item(backend().maxAll(tx))).isEqualTo(max);
        assertThat(backend().allFinite(tx)).isTrue();
        for (double bad : new double[]{Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            double[] y = x.clone();
            y[100] = bad;
            Tensor ty = t(dt, y, 7, 43);
            assertThat(backend().allFinite(ty)).as("allFinite with " + bad).isFalse();
            double m = backend().item(backend().maxAll(ty));
            if (Double.isNaN(bad)) assertThat(m).as("maxAll propagates NaN").isNaN();
            else assertThat(m).isEqualTo(bad > 0 ? bad : max);
        }
    }
}
