package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SiLU of the MLPs at the release's rounding points (docs/model-bf16.md): in BF16, PyTorch's kernel computes
 * {@code g / (1 + exp(−g))} with each of its three ops rounded to bf16; in F32 it is the backend's one-op silu.
 */
class MlpBf16SiluTest {

    private static final Backend BE = Backends.get("cpu");

    private static float[] bf16Values(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Bf16.round((float) (4 * r.nextGaussian()));
        v[0] = 0f;
        v[1] = -30f;      // exp(30) ≈ 1e13: the denominator is far from 1
        v[2] = 88f;
        return v;
    }

    @Test
    void bf16SiluRoundsTheExpTheSumAndTheQuotient() {
        float[] g = bf16Values(1, 4096);
        short[] bits = new short[g.length];
        for (int i = 0; i < g.length; i++) bits[i] = Bf16.toBits(g[i]);
        float[] got = BE.toFloats(Mlp.silu(BE, BE.fromBf16Bits(bits, g.length)));
        int differsFromOneRounding = 0;
        for (int i = 0; i < g.length; i++) {
            float e = Bf16.round((float) Math.exp(-g[i]));          // exp(−g), fp32 then bf16
            float d = Bf16.round(1f + e);                           // 1 + e
            float want = Bf16.round(g[i] / d);                      // g / d
            assertThat(got[i]).as("silu(%s)", g[i]).isEqualTo(want);
            if (want != Bf16.round((float) (g[i] / (1 + Math.exp(-g[i]))))) differsFromOneRounding++;
        }
        // the three roundings matter: a once-rounded silu differs on a sizeable share of inputs (measured 1230 of 4096)
        assertThat(differsFromOneRounding).isGreaterThan(100);
    }

    @Test
    void f32SiluIsTheBackendsOneOp() {
        float[] g = bf16Values(2, 512);
        try (Tensor x = BE.fromFloats(g, g.length)) {
            assertThat(BE.toFloats(Mlp.silu(BE, x))).containsExactly(BE.toFloats(BE.silu(x)));
            assertThat(Mlp.silu(BE, x).dtype()).isEqualTo(DType.F32);
        }
    }
}
