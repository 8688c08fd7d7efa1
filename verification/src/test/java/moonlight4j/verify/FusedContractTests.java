package moonlight4j.verify;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.DType;
import moonlight4j.api.FusedOps;
import moonlight4j.api.SwiGluGrads;
import moonlight4j.api.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static moonlight4j.verify.ContractFixtures.assertExact;
import static moonlight4j.verify.ContractFixtures.gaussian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Contract tests of the batched forms the optimizers use (part of {@link BackendContractTest}): a batched matmul,
 * {@code X·Xᵀ} of one tensor with itself, and {@code frobeniusNorms} give each matrix of a stack exactly what it
 * gets alone; the fused optimizer updates give exactly the results of the op sequences that define them
 * ({@link FusedOps}). Exact, not within a tolerance: Newton–Schulz on a stack must equal Newton–Schulz per matrix.
 */
abstract class FusedContractTests extends LayerContractTests {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void batchedMatmulGivesEachEntryItsOwnProduct(DType dt) {
        assumeSupported(dt);
        Random r = rng("batchedMatmul", dt);
        int batch = 3, m = 19, k = 37, n = 23;
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                int[] sa = ta ? new int[]{batch, k, m} : new int[]{batch, m, k};
                int[] sb = tb ? new int[]{batch, n, k} : new int[]{batch, k, n};
                Tensor a = t(dt, gaussian(r, dt, numel(sa), 1.0), sa), b = t(dt, gaussian(r, dt, numel(sb), 1.0), sb);
                Tensor c = backend().matmul(a, b, ta, tb);
                for (int i = 0; i < batch; i++) {
                    Tensor ai = backend().reshape(backend().slice(a, 0, i, i + 1), sa[1], sa[2]);
                    Tensor bi = backend().reshape(backend().slice(b, 0, i, i + 1), sb[1], sb[2]);
                    Tensor ci = backend().slice(c, 0, i, i + 1);
                    assertExact("matmul batch entry " + i + " (transA " + ta + ", transB " + tb + ")", vals(ci),
                            vals(backend().matmul(ai, bi, ta, tb)));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void gramOfATensorWithItselfIsTheProductWithACopy(DType dt) {
        assumeSupported(dt);
        Random r = rng("gram", dt);
        for (int[] shape : new int[][]{{150, 70}, {2, 140, 33}, {1, 5}}) {
            Tensor x = t(dt, gaussian(r, dt, numel(shape), 1.0), shape);
            Tensor gram = backend().matmul(x, x, false, true);
            assertExact("X·Xᵀ " + java.util.Arrays.toString(shape), vals(gram),
                    vals(backend().matmul(x, backend().copy(x), false, true)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void frobeniusNormsAreEachMatrixsNorm(DType dt) {
        assumeSupported(dt);
        Tensor x = t(dt, gaussian(rng("norms", dt), dt, 4 * 6 * 9, 1.0), 4, 6, 9);
        Tensor norms = backend().frobeniusNorms(x);
        assertThat(norms.shape()).containsExactly(4, 1, 1);
        double[] got = vals(norms);
        for (int i = 0; i < 4; i++) {
            assertThat(got[i]).as("norm of matrix " + i).isEqualTo(backend().item(backend().frobeniusNorm(backend().slice(x, 0, i, i + 1))));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void fusedUpdatesEqualTheirOpSequences(DType dt) {
        assumeSupported(dt);
        Random r = rng("fused", dt);
        int n = 301;
        double[] p = gaussian(r, dt, n, 1.0), g = gaussian(r, dt, n, 1e-2), m = gaussian(r, dt, n, 1e-3);
        double[] v = abs(gaussian(r, dt, n, 1e-5));
        for (boolean lerpV : new boolean[]{true, false}) {
            AdamUpdate u = new AdamUpdate(1 - 1e-4, 0.9, 0.95, lerpV, lerpV ? 1.0 : 1 / Math.sqrt(1 - 0.95), 1e-8, 1e-2);
            Tensor p1 = t(dt, p, n), m1 = t(dt, m, n), v1 = t(dt, v, n), p2 = t(dt, p, n), m2 = t(dt, m, n),
                    v2 = t(dt, v, n), gt = t(dt, g, n);
            double expected = FusedOps.adam(backend(), p1, gt, m1, v1, u);
            double actual = backend().adamUpdateInPlace(p2, gt, m2, v2, u);
            assertThat(actual).as("adam Σd² (lerpV " + lerpV + ")").isEqualTo(expected);
            assertExact("adam p", vals(p2), vals(p1));
            assertExact("adam m", vals(m2), vals(m1));
            assertExact("adam v", vals(v2), vals(v1));
        }
        for (boolean nesterov : new boolean[]{true, false}) {
            Tensor b1 = t(dt, m, n), b2 = t(dt, m, n), gt = t(dt, g, n);
            Tensor n1 = nesterov ? backend().zeros(dt, n) : null, n2 = nesterov ? backend().zeros(dt, n) : null;
            FusedOps.momentum(backend(), b1, gt, 0.95, n1);
            backend().momentumInPlace(b2, gt, 0.95, n2);
            assertExact("momentum buf", vals(b2), vals(b1));
            if (nesterov) assertExact("momentum nesterov", vals(n2), vals(n1));
        }
        Tensor p1 = t(dt, p, n), p2 = t(dt, p, n), ut = t(dt, g, n);
        FusedOps.scaleAxpy(backend(), p1, 0.999, -0.013, ut);
        backend().scaleAxpyInPlace(p2, 0.999, -0.013, ut);
        assertExact("scaleAxpy", vals(p2), vals(p1));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void scaleAddEqualsMulScalarThenAdd(DType dt) {
        assumeSupported(dt);
        Random r = rng("scaleAdd", dt);
        for (int[] shape : new int[][]{{301}, {150, 140}, {2, 33, 40}}) {
            Tensor x = t(dt, gaussian(r, dt, numel(shape), 1.0), shape), y = t(dt, gaussian(r, dt, numel(shape), 1.0), shape);
            for (double s : new double[]{3.4445, -4.7750, 2.0315}) {
                assertExact("scaleAdd " + s + " " + java.util.Arrays.toString(shape),
                        vals(backend().scaleAdd(x, s, y)), vals(FusedOps.scaleAdd(backend(), x, s, y)));
            }
        }
        Tensor a = t(dt, gaussian(r, dt, 6, 1.0), 2, 3), b = t(dt, gaussian(r, dt, 6, 1.0), 3, 2);
        assertThatThrownBy(() -> backend().scaleAdd(a, 2.0, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scaleAdd");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void swigluAndItsBackwardEqualTheirOpSequences(DType dt) {
        assumeSupported(dt);
        Random r = rng("swiglu", dt);
        for (int[] shape : new int[][]{{301}, {150, 140}, {2, 33, 40}}) {
            int n = numel(shape);
            Tensor g = t(dt, gaussian(r, dt, n, 3.0), shape), u = t(dt, gaussian(r, dt, n, 1.0), shape);
            Tensor dh = t(dt, gaussian(r, dt, n, 1.0), shape);
            String at = " " + java.util.Arrays.toString(shape);
            assertExact("swiglu" + at, vals(backend().swiglu(g, u)), vals(FusedOps.swiglu(backend(), g, u)));
            try (SwiGluGrads fused = backend().swigluBackward(g, u, dh);
                 SwiGluGrads ops = FusedOps.swigluBackward(backend(), g, u, dh)) {
                assertExact("swigluBackward dGate" + at, vals(fused.dGate()), vals(ops.dGate()));
                assertExact("swigluBackward dUp" + at, vals(fused.dUp()), vals(ops.dUp()));
            }
        }
        Tensor a = t(dt, gaussian(r, dt, 6, 1.0), 2, 3), b = t(dt, gaussian(r, dt, 6, 1.0), 3, 2);
        assertThatThrownBy(() -> backend().swiglu(a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("swiglu");
        assertThatThrownBy(() -> backend().swigluBackward(a, a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("swigluBackward");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void batchedProductsTheSizeOfABlasThreadSplitGiveEachEntryItsLoneProduct(DType dt) {
        assumeSupported(dt);                            // sizes a multi-threaded BLAS splits over its threads
        Random r = rng("batchedLarge", dt);
        int batch = 3, m = 96, k = 200, n = 160;
        for (boolean[] tr : new boolean[][]{{false, false}, {false, true}, {true, false}}) {
            int[] sa = tr[0] ? new int[]{batch, k, m} : new int[]{batch, m, k};
            int[] sb = tr[1] ? new int[]{batch, n, k} : new int[]{batch, k, n};
            Tensor a = t(dt, gaussian(r, dt, numel(sa), 1.0), sa), b = t(dt, gaussian(r, dt, numel(sb), 1.0), sb);
            Tensor c = backend().matmul(a, b, tr[0], tr[1]);
            for (int i = 0; i < batch; i++) {
                Tensor ai = backend().copy(backend().reshape(backend().slice(a, 0, i, i + 1), sa[1], sa[2]));
                Tensor bi = backend().copy(backend().reshape(backend().slice(b, 0, i, i + 1), sb[1], sb[2]));
                assertExact("matmul entry " + i + " (transA " + tr[0] + ", transB " + tr[1] + ")",
                        vals(backend().slice(c, 0, i, i + 1)), vals(backend().matmul(ai, bi, tr[0], tr[1])));
            }
        }
        Tensor x = t(dt, gaussian(r, dt, batch * m * k, 1.0), batch, m, k);
        Tensor gram = backend().matmul(x, x, false, true);
        for (int i = 0; i < batch; i++) {
            Tensor xi = backend().copy(backend().reshape(backend().slice(x, 0, i, i + 1), m, k));
            assertExact("X·Xᵀ entry " + i, vals(backend().slice(gram, 0, i, i + 1)), vals(backend().matmul(xi, xi, false, true)));
        }
    }
}
