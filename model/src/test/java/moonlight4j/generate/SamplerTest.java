package moonlight4j.generate;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplerTest {

    private static final float[] LOGITS = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};

    private static double[] frequencies(Sampler s, int draws) {
        double[] f = new double[3];
        for (int i = 0; i < draws; i++) f[s.sample(LOGITS, 0, 3)] += 1.0 / draws;
        return f;
    }

    @Test
    void temperatureZeroIsArgmaxWithTiesToTheLowerId() {
        Sampler s = new Sampler(0, 0, 1, 1);
        assertThat(s.sample(new float[]{1, 3, 3, 2}, 0, 4)).isEqualTo(1);
        assertThat(s.sample(new float[]{9, 1, 3, 3, 2}, 1, 4)).isEqualTo(1);
    }

    @Test
    void temperatureOneDrawsTheSoftmaxDistribution() {
        int n = 40_000;
        double[] f = frequencies(new Sampler(1.0, 0, 1.0, 7), n);
        // 4 standard errors of a frequency near 0.5: 4·sqrt(0.25 / n) = 0.01
        assertThat(f[0]).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.01));
        assertThat(f[1]).isCloseTo(0.3, org.assertj.core.data.Offset.offset(0.01));
        assertThat(f[2]).isCloseTo(0.2, org.assertj.core.data.Offset.offset(0.01));
    }

    @Test
    void topKAndTopPCutTheTail() {
        int n = 40_000;
        double[] k2 = frequencies(new Sampler(1.0, 2, 1.0, 3), n);
        assertThat(k2[2]).isZero();
        assertThat(k2[0]).isCloseTo(0.5 / 0.8, org.assertj.core.data.Offset.offset(0.01));
        // top-p 0.75: {0.5} has mass 0.5 < 0.75, {0.5, 0.3} reaches it → id 2 is never drawn
        double[] p = frequencies(new Sampler(1.0, 0, 0.75, 3), n);
        assertThat(p[2]).isZero();
        assertThat(p[1]).isCloseTo(0.3 / 0.8, org.assertj.core.data.Offset.offset(0.01));
        // top-p below the largest probability keeps only the top token
        assertThat(frequencies(new Sampler(1.0, 0, 0.1, 3), 1000)[0]).isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(frequencies(new Sampler(1.0, 1, 1.0, 3), 1000)[0]).isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void lowTemperatureSharpensHighFlattens() {
        double[] cold = frequencies(new Sampler(0.25, 0, 1.0, 5), 20_000);
        double[] hot = frequencies(new Sampler(4.0, 0, 1.0, 5), 20_000);
        assertThat(cold[0]).isGreaterThan(0.8);   // 0.5⁴ / (0.5⁴ + 0.3⁴ + 0.2⁴) = 0.86
        assertThat(hot[0]).isLessThan(0.4);       // 0.5^¼ normalized = 0.37
    }

    @Test
    void badParametersAreClearErrors() {
        assertThatThrownBy(() -> new Sampler(-1, 0, 1, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(1, -2, 1, 0)).hasMessageContaining("top-k");
        assertThatThrownBy(() -> new Sampler(1, 0, 0, 0)).hasMessageContaining("top-p");
        assertThatThrownBy(() -> new Sampler(1, 0, 1.5, 0)).hasMessageContaining("top-p");
    }
}
