package moonlight4j.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;

/**
 * The blocked, threaded GEMM gives bit-identical results for 1, 2 and 3 threads, equal to the naive triple loop
 * that adds the products in k order ({@code acc += a·b}, fp32). Sizes straddle the block sizes (MB 64, KB 128,
 * NB 1024/512), the 4-way k unrolling and the row pairs (odd M); a transposed a is read in place.
 */
class GemmTest {

    /** The definition: c_mn = ((0 + a_m0·b_0n) + a_m1·b_1n) + ..., fp32. */
    static float[] naive(float[] a, float[] b, int batch, int m, int k, int n, boolean shared) {
        float[] c = new float[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    float acc = 0f;
                    for (int p = 0; p < k; p++) acc += a[bi * m * k + i * k + p] * b[(shared ? 0 : bi * k * n) + p * n + j];
                    c[bi * m * n + i * n + j] = acc;
                }
        return c;
    }

    static double[] naive64(double[] a, double[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
                c[i * n + j] = acc;
            }
        return c;
    }

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Test
    void anyThreadCountEqualsTheNaiveKOrderLoopBitForBit() {
        try (Gemm g1 = new Gemm(1); Gemm g2 = new Gemm(2); Gemm g3 = new Gemm(3)) {
            qt().withExamples(25).forAll(integers().between(1, 150), integers().between(1, 300),
                    integers().between(1, 700), integers().between(1, 3)).check((m, k, n, batch) -> {
                Random r = new Random(m * 1_000_003L + k * 1009L + n * 31L + batch);
                boolean shared = (m + k) % 2 == 0;
                float[] a = random(r, batch * m * k), b = random(r, (shared ? 1 : batch) * k * n);
                float[] expected = naive(a, b, batch, m, k, n, shared);
                for (Gemm g : new Gemm[]{g1, g2, g3}) {
                    float[] c = new float[batch * m * n];
                    java.util.Arrays.fill(c, Float.NaN);                      // c is overwritten, not accumulated into
                    g.f32(a, b, c, batch, m, k, n, shared);
                    for (int i = 0; i < c.length; i++) {
                        if (Float.floatToRawIntBits(c[i]) != Float.floatToRawIntBits(expected[i])) return false;
                    }
                }
                return true;
            });
        }
    }

    @Test
    void largeProductIsThreadCountIndependent() {
        // big enough to be split into many tiles and run in parallel (≥ PARALLEL_MIN_FLOPS)
        int m = 200, k = 517, n = 1100;
        Random r = new Random(7);
        float[] a = random(r, m * k), b = random(r, k * n);
        float[] expected = naive(a, b, 1, m, k, n, true);
        for (int threads = 1; threads <= 3; threads++) {
            try (Gemm g = new Gemm(threads)) {
                float[] c = new float[m * n];
                g.f32(a, b, c, 1, m, k, n, true);
                assertThat(c).as("threads = " + threads).containsExactly(expected);
            }
        }
    }

    @Test
    void f64EqualsTheNaiveLoop() {
        int m = 70, k = 263, n = 300;
        Random r = new Random(11);
        double[] a = new double[m * k], b = new double[k * n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = r.nextGaussian();
        double[] expected = naive64(a, b, m, k, n);
        for (int threads = 1; threads <= 3; threads++) {
            try (Gemm g = new Gemm(threads)) {
                double[] c = new double[m * n];
                g.f64(a, b, c, 1, m, k, n, true);
                assertThat(c).as("threads = " + threads).containsExactly(expected);
            }
        }
    }

    @Test
    void emptyInnerDimensionGivesZeros() {
        try (Gemm g = new Gemm(2)) {
            float[] c = {Float.NaN, Float.NaN, Float.NaN, Float.NaN};
            g.f32(new float[0], new float[0], c, 1, 2, 0, 2, true);
            assertThat(c).containsExactly(0f, 0f, 0f, 0f);
        }
    }

    @Test
    void gramEqualsTheFullProductBitForBit() {
        try (Gemm g1 = new Gemm(1); Gemm g2 = new Gemm(2)) {
            qt().withExamples(20).forAll(integers().between(1, 400), integers().between(1, 300),
                    integers().between(1, 3)).check((m, k, batch) -> {
                Random r = new Random(m * 1_000_003L + k * 1009L + batch);
                float[] a = random(r, batch * m * k), at = new float[batch * k * m];
                for (int bi = 0; bi < batch; bi++)
                    for (int i = 0; i < m; i++)
                        for (int p = 0; p < k; p++) at[bi * k * m + p * m + i] = a[bi * m * k + i * k + p];
                float[] expected = naive(a, at, batch, m, k, m, false);
                for (Gemm g : new Gemm[]{g1, g2}) {
                    float[] c = new float[batch * m * m];
                    java.util.Arrays.fill(c, Float.NaN);
                    g.f32Gram(a, at, c, batch, m, k, false);
                    for (int i = 0; i < c.length; i++) {
                        if (Float.floatToRawIntBits(c[i]) != Float.floatToRawIntBits(expected[i])) return false;
                    }
                }
                return true;
            });
        }
    }

    /** {@code [batch, rows, cols]} with its last two dims swapped, copied. */
    static float[] transposed(float[] x, int batch, int rows, int cols) {
        float[] t = new float[x.length];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) t[bi * rows * cols + j * rows + i] = x[bi * rows * cols + i * cols + j];
        return t;
    }

    @Test
    void transposedAReadInPlaceEqualsTheNaiveLoopOnACopyBitForBit() {
        try (Gemm g1 = new Gemm(1); Gemm g2 = new Gemm(2); Gemm g3 = new Gemm(3)) {
            qt().withExamples(25).forAll(integers().between(1, 150), integers().between(1, 300),
                    integers().between(1, 700), integers().between(0, 5)).check((m, k, n, mode) -> {
                int batch = 1 + mode % 3;
                boolean shared = mode >= 3;
                Random r = new Random(m * 1_000_003L + k * 1009L + n * 31L + mode);
                float[] a = random(r, batch * m * k), b = random(r, (shared ? 1 : batch) * k * n);
                float[] expected = naive(a, b, batch, m, k, n, shared);
                float[] aStored = transposed(a, batch, m, k);                                 // [batch, K, M]
                for (Gemm g : new Gemm[]{g1, g2, g3}) {
                    float[] c = new float[batch * m * n];
                    java.util.Arrays.fill(c, Float.NaN);
                    g.f32(aStored, Gemm.Strides.of(0, k, m, false, true), b, Gemm.Strides.of(0, k, n, shared, false),
                            c, batch, m, k, n, false);
                    for (int i = 0; i < c.length; i++) {
                        if (Float.floatToRawIntBits(c[i]) != Float.floatToRawIntBits(expected[i])) return false;
                    }
                }
                return true;
            });
        }
    }

    @Test
    void bf16RoundsEachFinishedSumOnceAsBf16Round() {
        int m = 37, k = 300, n = 129;                              // k spans three k blocks: rounding only at the end
        Random r = new Random(5);
        float[] a = random(r, m * k), b = random(r, k * n);
        float[] expected = naive(a, b, 1, m, k, n, true);
        for (int i = 0; i < expected.length; i++) expected[i] = moonlight4j.api.Bf16.round(expected[i]);
        for (int threads = 1; threads <= 2; threads++) {
            try (Gemm g = new Gemm(threads)) {
                float[] c = new float[m * n];
                g.f32(a, Gemm.Strides.of(0, m, k, false, false), b, Gemm.Strides.of(0, k, n, true, false), c, 1, m, k, n,
                        true);
                assertThat(c).as("threads = " + threads).containsExactly(expected);
                float[] gram = new float[m * m], full = naive(a, transposed(a, 1, m, k), 1, m, k, m, false);
                g.f32Gram(a, transposed(a, 1, m, k), gram, 1, m, k, true);
                for (int i = 0; i < full.length; i++) full[i] = moonlight4j.api.Bf16.round(full[i]);
                assertThat(gram).as("Gram, threads = " + threads).containsExactly(full);
            }
        }
    }

    @Test
    void f64TransposedAEqualsTheNaiveLoop() {
        int m = 70, k = 263, n = 300;
        Random r = new Random(13);
        double[] a = new double[m * k], b = new double[k * n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = r.nextGaussian();
        double[] expected = naive64(a, b, m, k, n);
        double[] at = new double[k * m];
        for (int i = 0; i < m; i++) for (int p = 0; p < k; p++) at[p * m + i] = a[i * k + p];
        for (int threads = 1; threads <= 3; threads++) {
            try (Gemm g = new Gemm(threads)) {
                double[] c = new double[m * n];
                g.f64(at, Gemm.Strides.of(0, k, m, false, true), b, Gemm.Strides.of(0, k, n, true, false), c, 1, m, k, n);
                assertThat(c).as("threads = " + threads).containsExactly(expected);
            }
        }
    }

    @Test
    void testRunsUseTheVectorTileTheLauncherRuns() {
        // surefire's argLine adds jdk.incubator.vector, as the moonlight launcher does: the tests above check VectorTile
        assertThat(Gemm.VECTOR).as("Vector API tile in use (module jdk.incubator.vector added?)").isTrue();
        assertThat(Gemm.vectorProperty(null)).isTrue();
        assertThat(Gemm.vectorProperty("false")).isFalse();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Gemm.vectorProperty("yes"))
                .hasMessageContaining("moonlight.cpu.vector").hasMessageContaining("expected true or false");
    }

    @Test
    void vectorTileEqualsTheScalarTileBitForBit() {
        // tiles that start inside c, rows and columns not multiples of the register block, k across k blocks,
        // a stored transposed, batch entries past the first, bf16 rounding: the two kernels write the same bits,
        // with each register block (the machine uses one of them: VectorTile.BLOCK)
        qt().withExamples(40).forAll(integers().between(1, 90), integers().between(1, 300),
                integers().between(1, 200), integers().between(0, 7)).check((m, k, n, mode) -> {
            boolean transposedA = (mode & 1) != 0, bf16 = (mode & 2) != 0;
            int batch = 1 + (mode >> 2);
            Random r = new Random(m * 1_000_003L + k * 1009L + n * 31L + mode);
            float[] a = random(r, batch * m * k), b = random(r, batch * k * n);
            Gemm.Strides as = transposedA ? Gemm.Strides.of(0, k, m, false, true) : Gemm.Strides.of(0, m, k, false, false);
            Gemm.Strides bs = Gemm.Strides.of(0, k, n, false, false);
            int bi = batch - 1, i0 = m / 3, i1 = m, j0 = n / 4, j1 = n;
            float[] initial = random(r, batch * m * n), scalar = initial.clone();
            Gemm.scalarTileF32(a, as, b, bs, bi, scalar, bi * m * n, k, n, i0, i1, j0, j1, bf16);
            for (VectorTile.Block block : VectorTile.Block.values()) {
                float[] vector = initial.clone();
                VectorTile.tileF32(a, as, b, bs, bi, vector, bi * m * n, k, n, i0, i1, j0, j1, bf16, false, block);
                for (int i = 0; i < scalar.length; i++) {
                    if (Float.floatToRawIntBits(scalar[i]) != Float.floatToRawIntBits(vector[i])) return false;
                }
            }
            return true;
        });
    }

    @Test
    void vectorTileGramComputesEveryElementOnAndAboveTheDiagonal() {
        // upperOnly (Gram): a·aᵀ with b = aᵀ read in place; each register block fills all of the upper triangle,
        // with the full product's bits (elements below the diagonal are left for the mirror and not checked here)
        qt().withExamples(30).forAll(integers().between(1, 120), integers().between(1, 300),
                integers().between(0, 1)).check((m, k, mode) -> {
            boolean bf16 = mode == 1;
            Random r = new Random(m * 1_000_003L + k * 1009L + mode);
            float[] a = random(r, m * k);
            float[] full = naive(a, transposed(a, 1, m, k), 1, m, k, m, false);
            if (bf16) for (int i = 0; i < full.length; i++) full[i] = moonlight4j.api.Bf16.round(full[i]);
            Gemm.Strides as = Gemm.Strides.of(0, m, k, false, false), at = Gemm.Strides.of(0, m, k, false, true);
            for (VectorTile.Block block : VectorTile.Block.values()) {
                float[] c = new float[m * m];
                java.util.Arrays.fill(c, Float.NaN);
                VectorTile.tileF32(a, as, a, at, 0, c, 0, k, m, 0, m, 0, m, bf16, true, block);
                for (int i = 0; i < m; i++) {
                    for (int j = i; j < m; j++) {
                        if (Float.floatToRawIntBits(c[i * m + j]) != Float.floatToRawIntBits(full[i * m + j])) return false;
                    }
                }
            }
            return true;
        });
    }
}
