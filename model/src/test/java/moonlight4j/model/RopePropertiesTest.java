package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * RoPE as the attention uses it ({@code Backend.rope}: interleaved input, HF half-split output,
 * docs/model.md#rope-layout) is a rotation per frequency: it keeps norms, and {@code ⟨R_m q, R_n k⟩} depends only
 * on m − n.
 */
class RopePropertiesTest {

    private static final Backend BE = Backends.get("cpu");
    private static final int D = 16;
    private static final double THETA = 50000;

    private static float[] gaussian(long seed) {
        Random r = new Random(seed);
        float[] x = new float[D];
        for (int i = 0; i < D; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private static float[] rope(float[] x, long pos) {
        return BE.toFloats(BE.rope(BE.fromFloats(x, 1, 1, 1, D), BE.fromLongs(new long[]{pos}, 1, 1), THETA));
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    @Test
    void preservesNorms() {
        qt().forAll(longs().all(), integers().between(0, 8191)).checkAssert((seed, pos) -> {
            float[] x = gaussian(seed);
            double n0 = Math.sqrt(dot(x, x)), n1 = Math.sqrt(dot(rope(x, pos), rope(x, pos)));
            // fp32 rotation: each output is x·c ± y·s with 2 roundings, |Δ| ≲ 2^-23 relative; cos²+sin² of fp32
            // cos/sin is 1 within ~2^-23. Measured: max relative change 6.2e-8 over 3,000 draws, pos < 8192; bound 1e-5
            assertThat(n1).isCloseTo(n0, org.assertj.core.data.Offset.offset(1e-5 * n0));
        });
    }

    @Test
    void dotProductsDependOnlyOnTheRelativePosition() {
        qt().forAll(longs().all(), integers().between(0, 255), integers().between(0, 255), integers().between(0, 255))
                .checkAssert((seed, m, n, shift) -> {
                    float[] q = gaussian(seed), k = gaussian(~seed);
                    double a = dot(rope(q, m), rope(k, n));
                    double b = dot(rope(q, m + shift), rope(k, n + shift));
                    // the angles pos·inv_freq are formed in fp32 (as the release): at pos ≤ 510 the angle error is
                    // ≤ 510·2^-24 ≈ 3e-5 rad per frequency. Measured: max |Δ⟨q,k⟩| = 1.6e-6·|q||k| over 3,000 draws;
                    // bound 2e-5·|q||k| (≈ 12×)
                    double scale = Math.sqrt(dot(q, q) * dot(k, k));
                    assertThat(b).isCloseTo(a, org.assertj.core.data.Offset.offset(2e-5 * scale));
                });
    }

    @Test
    void positionZeroOnlyDeinterleaves() {
        float[] x = gaussian(3);
        float[] y = rope(x, 0);                                  // cos 0 = 1, sin 0 = 0
        for (int j = 0; j < D / 2; j++) {
            assertThat(y[j]).isEqualTo(x[2 * j]);                // evens first
            assertThat(y[j + D / 2]).isEqualTo(x[2 * j + 1]);    // then odds
        }
    }
}
