package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The oracle's BF16 results are bit-exact to the release's rounding points (docs/model.md#rmsnorm,
 * docs/model.md#rope-layout, golden-data/FORMAT.md §3.1), recomputed here step by step in fp32 with {@link Bf16#round}
 * after each PyTorch op.
 */
class RoundingModelTest {

    private static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static float[] bf16Gaussian(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Bf16.round((float) (scale * r.nextGaussian()));
        return v;
    }

    private static Tensor bf16(float[] v, int... shape) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = Bf16.toBits(v[i]);
        return CPU.fromBf16Bits(s, shape);
    }

    @Test
    void rmsNormRoundsTheNormalizedValueThenTheWeightProduct() {
        Random r = new Random(5);
        int rows = 4, c = 48;
        float[] x = bf16Gaussian(r, rows * c, 3), w = bf16Gaussian(r, c, 1);
        float eps = 1e-5f;
        float[] got = CPU.toFloats(CPU.rmsNorm(bf16(x, rows, c), bf16(w, c), 1e-5));
        for (int row = 0; row < rows; row++) {
            float ss = 0f;
            for (int j = 0; j < c; j++) ss += x[row * c + j] * x[row * c + j];     // x.pow(2).sum in fp32, in order
            float var = ss / c;
            float rs = (float) (1.0 / Math.sqrt(var + eps));                       // torch.rsqrt(var + eps), fp32
            for (int j = 0; j < c; j++) {
                float h = Bf16.round(x[row * c + j] * rs);                           // .to(input_dtype)
                assertThat(got[row * c + j]).isEqualTo(Bf16.round(w[j] * h));        // weight * h in bf16
            }
        }
    }

    /**
     * The release's tables after {@code model.to(torch.bfloat16)} (FORMAT §3.12): {@code inv_freq} computed in fp32 and
     * cast to bf16, {@code t = arange(..., dtype=bfloat16)}, {@code f = r(t·inv_freq)}, {@code r(cos f)},
     * {@code r(sin f)}; position 257 is not a bf16 number (t rounds to 256).
     */
    @Test
    void ropeRoundsTheBf16TablesEachProductAndTheSum() {
        Random r = new Random(6);
        int s = 6, d = 8, half = d / 2;
        float[] x = bf16Gaussian(r, s * d, 1);
        long[] pos = {0, 3, 1, 17, 257, 4};
        float[] got = CPU.toFloats(CPU.rope(bf16(x, 1, 1, s, d), CPU.fromLongs(pos, 1, s), 50000));
        for (int t = 0; t < s; t++) {
            for (int j = 0; j < half; j++) {
                float invFreq = Bf16.round((float) (1.0 / (float) Math.pow(50000f, (float) (2 * j) / d)));
                float f = Bf16.round(Bf16.round((float) pos[t]) * invFreq);
                float cos = Bf16.round((float) Math.cos(f)), sin = Bf16.round((float) Math.sin(f));
                float a = x[t * d + 2 * j], b = x[t * d + 2 * j + 1];               // de-interleaved pair
                assertThat(got[t * d + j]).isEqualTo(Bf16.round(Bf16.round(a * cos) + Bf16.round(-b * sin)));
                assertThat(got[t * d + half + j]).isEqualTo(Bf16.round(Bf16.round(b * cos) + Bf16.round(a * sin)));
            }
        }
    }

    @Test
    void scalarsAreRoundedToBf16BeforeUse() {
        // PyTorch 1.13 casts a Python scalar to the tensor dtype first (golden-data/FORMAT.md §3.1): x + bf16(s), not x + s
        float[] x = bf16Gaussian(new Random(7), 1000, 1e-6);
        float s = Bf16.round(1e-7f);
        float[] got = CPU.toFloats(CPU.addScalar(bf16(x, 1000), 1e-7));
        for (int i = 0; i < x.length; i++) assertThat(got[i]).isEqualTo(Bf16.round(x[i] + s));
        float m = Bf16.round(3.4445f);
        float[] mul = CPU.toFloats(CPU.mulScalar(bf16(x, 1000), 3.4445));
        for (int i = 0; i < x.length; i++) assertThat(mul[i]).isEqualTo(Bf16.round(x[i] * m));
        assertThat(CPU.item(CPU.full(DType.BF16, 3.4445))).isEqualTo(m);
    }

    @Test
    void frobeniusNormIsTheRoundedRootOfAnInOrderFp32SumOfSquares() {
        Random r = new Random(8);
        float[] x = bf16Gaussian(r, 999, 2);
        float ss = 0f;
        for (float v : x) ss += v * v;
        assertThat((float) CPU.item(CPU.frobeniusNorm(bf16(x, 27, 37)))).isEqualTo(Bf16.round((float) Math.sqrt(ss)));
    }

    @Test
    void bf16MatmulIsTheRoundedInOrderFp32DotProduct() {
        Random r = new Random(9);
        int m = 3, k = 333, n = 5;
        float[] a = bf16Gaussian(r, m * k, 1), b = bf16Gaussian(r, k * n, 1);
        float[] got = CPU.toFloats(CPU.matmul(bf16(a, m, k), bf16(b, n, k), false, true));   // b given as (N, K)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) acc += a[i * k + p] * b[j * k + p];
                assertThat(got[i * n + j]).isEqualTo(Bf16.round(acc));
            }
    }
}
