package moonlight4j.verify;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TopK;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static moonlight4j.verify.ContractFixtures.assertClose;
import static moonlight4j.verify.ContractFixtures.assertExact;
import static moonlight4j.verify.ContractFixtures.gaussian;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Contract tests of gathers, scatter-adds and top-k (part of {@link BackendContractTest}). Gathers are exact;
 * scatter-adds sum repeated indices, bounded by one storage rounding per addition.
 */
abstract class IndexContractTests extends FusedContractTests {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void embeddingGathersRowsAndItsGradientScatterAdds(DType dt) {
        assumeSupported(dt);
        Random r = rng("embedding", dt);
        int v = 7, c = 5;
        double[] table = gaussian(r, dt, v * c, 1.0);
        long[] ids = {3, 0, 6, 3, 3, 1};
        for (Tensor tid : new Tensor[]{backend().fromLongs(ids, 2, 3),
                backend().fromInts(Arrays.stream(ids).mapToInt(i -> (int) i).toArray(), 2, 3)}) {
            Tensor y = backend().embedding(t(dt, table, v, c), tid);
            assertThat(y.shape()).containsExactly(2, 3, c);
            double[] ref = new double[ids.length * c];
            for (int n = 0; n < ids.length; n++) System.arraycopy(table, (int) ids[n] * c, ref, n * c, c);
            assertExact("embedding " + tid.dtype(), vals(y), ref);

            double[] dy = gaussian(r, dt, ids.length * c, 1.0), grad = new double[v * c], scale = new double[v * c];
            for (int n = 0; n < ids.length; n++)
                for (int j = 0; j < c; j++) {
                    grad[(int) ids[n] * c + j] += dy[n * c + j];
                    scale[(int) ids[n] * c + j] += Math.abs(dy[n * c + j]);
                }
            Tensor g = backend().embeddingBackward(t(dt, dy, 2, 3, c), tid, v);
            assertThat(g.shape()).containsExactly(v, c);
            // id 3 is hit 3 times: ≤ 3 roundings of the running sum, each bounded by u_s·Σ|dy|
            assertClose("embeddingBackward", dt, vals(g), grad, scale, 3, 0);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void gatherRowsAndIndexAdd(DType dt) {
        assumeSupported(dt);
        Random r = rng("gatherRows", dt);
        int rows = 6, c = 3;
        double[] x = gaussian(r, dt, rows * c, 1.0);
        long[] idx = {5, 0, 5, 2};
        Tensor y = backend().gatherRows(t(dt, x, rows, c), backend().fromLongs(idx, 4));
        double[] ref = new double[idx.length * c];
        for (int m = 0; m < idx.length; m++) System.arraycopy(x, (int) idx[m] * c, ref, m * c, c);
        assertExact("gatherRows", vals(y), ref);

        double[] src = gaussian(r, dt, idx.length * c, 1.0), target = x.clone(), scale = new double[x.length];
        for (int i = 0; i < x.length; i++) scale[i] = Math.abs(x[i]);
        for (int m = 0; m < idx.length; m++)
            for (int j = 0; j < c; j++) {
                target[(int) idx[m] * c + j] += src[m * c + j];
                scale[(int) idx[m] * c + j] += Math.abs(src[m * c + j]);
            }
        Tensor tt = t(dt, x, rows, c);
        backend().indexAddInPlace(tt, backend().fromLongs(idx, 4), t(dt, src, idx.length, c));
        assertClose("indexAddInPlace", dt, vals(tt), target, scale, 2, 0);   // row 5 gets two additions
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void gatherLastDimAndScatterAddLastDim(DType dt) {
        assumeSupported(dt);
        Random r = rng("gatherLastDim", dt);
        int rows = 4, e = 8, k = 3;
        double[] x = gaussian(r, dt, rows * e, 1.0);
        long[] idx = {7, 0, 3, 1, 1, 2, 5, 6, 7, 0, 0, 0};
        Tensor y = backend().gatherLastDim(t(dt, x, 2, 2, e), backend().fromLongs(idx, 2, 2, k));
        assertThat(y.shape()).containsExactly(2, 2, k);
        double[] ref = new double[rows * k];
        for (int row = 0; row < rows; row++)
            for (int j = 0; j < k; j++) ref[row * k + j] = x[row * e + (int) idx[row * k + j]];
        assertExact("gatherLastDim", vals(y), ref);

        double[] dy = gaussian(r, dt, rows * k, 1.0), grad = new double[rows * e], scale = new double[rows * e];
        for (int row = 0; row < rows; row++)
            for (int j = 0; j < k; j++) {
                grad[row * e + (int) idx[row * k + j]] += dy[row * k + j];
                scale[row * e + (int) idx[row * k + j]] += Math.abs(dy[row * k + j]);
            }
        Tensor g = backend().scatterAddLastDim(t(dt, dy, 2, 2, k), backend().fromLongs(idx, 2, 2, k), e);
        assertThat(g.shape()).containsExactly(2, 2, e);
        assertClose("scatterAddLastDim", dt, vals(g), grad, scale, 3, 0);  // last row hits index 0 three times
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void topkIsDescendingWithTiesToTheLowerIndex(DType dt) {
        assumeSupported(dt);
        Random r = rng("topk", dt);
        int rows = 5, e = 9;
        double[] x = new double[rows * e];
        for (int i = 0; i < x.length; i++) x[i] = r.nextInt(4) - 1.5;                // many ties, exact in bf16
        x[2] = -0.0;                                                                   // −0 ties with +0
        x[3] = 0.0;
        for (int k : new int[]{1, 3, e}) {
            TopK top = backend().topk(t(dt, x, rows, e), k);
            assertThat(top.indices().dtype()).isEqualTo(DType.I64);
            assertThat(top.values().shape()).containsExactly(rows, k);
            long[] gotIdx = backend().toLongs(top.indices());
            double[] gotVal = vals(top.values());
            for (int row = 0; row < rows; row++) {
                int base = row * e;
                Integer[] order = IntStream.range(0, e).boxed().toArray(Integer[]::new);
                // stable sort by descending value keeps the lower index first among equal values
                Arrays.sort(order, Comparator.comparingDouble((Integer j) -> x[base + j] + 0.0).reversed());
                for (int j = 0; j < k; j++) {
                    assertThat(gotIdx[row * k + j]).as("topk index row " + row + " rank " + j).isEqualTo((long) order[j]);
                    assertThat(gotVal[row * k + j]).isEqualTo(x[base + order[j]]);
                }
            }
        }
    }

    @Test
    void indexErrorsNameTheIndex() {
        Tensor table = backend().zeros(DType.F32, 5, 3);
        assertError(() -> backend().embedding(table, backend().fromLongs(new long[]{1, 7}, 2)),
                "embedding: index 7 outside vocabulary [0, 5)");
        assertError(() -> backend().embedding(table, backend().fromLongs(new long[]{-1}, 1)),
                "embedding: index -1 outside vocabulary [0, 5)");
        assertError(() -> backend().gatherRows(table, backend().fromLongs(new long[]{5}, 1)),
                "gatherRows: index 5 outside rows of x [0, 5)");
        assertError(() -> backend().indexAddInPlace(table, backend().fromLongs(new long[]{9}, 1), backend().zeros(DType.F32, 1, 3)),
                "indexAddInPlace: index 9 outside rows of target [0, 5)");
        assertError(() -> backend().gatherLastDim(table, backend().fromLongs(new long[]{0, 3, 1, 0, 0, 0, 0, 0, 0, 0}, 5, 2)),
                "gatherLastDim: index 3 outside last dim of x [0, 3)");
        assertError(() -> backend().scatterAddLastDim(table, backend().fromLongs(new long[15], 5, 3), 0),
                "scatterAddLastDim: index 0 outside output last dim [0, 0)");
        assertError(() -> backend().embeddingBackward(table, backend().fromLongs(new long[]{4, 2, 0, 1, 0}, 5), 3),
                "embeddingBackward: index 4 outside vocabulary [0, 3)");
        assertError(() -> backend().crossEntropySum(table, backend().fromLongs(new long[]{0, 1, 2, 3, -100}, 5), -100),
                "crossEntropy: index 3 outside vocabulary [0, 3)");
        assertError(() -> backend().topk(table, 4), "topk: k = 4 must be in [1, 3] for shape [5, 3]");
        assertError(() -> backend().topk(table, 0), "topk: k = 0 must be in [1, 3] for shape [5, 3]");
    }

    /** The call throws IllegalArgumentException with exactly this message (the shared Shapes text). */
    static void assertError(Runnable call, String message) {
        org.assertj.core.api.Assertions.assertThatThrownBy(call::run)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }
}
