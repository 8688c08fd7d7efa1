package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link GradClip} on its own: the global norm over every gradient, the scale {@code max / (n + 1e-6)} above the
 * threshold, nothing below it or with clipping off, and non-finite gradients left as they are for the caller's check.
 */
class GradClipTest {

    private static final Backend BE = Backends.get("cpu");

    /** Three gradients of different shapes (F64, so the reference below is exact up to summation order). */
    private static Map<String, Tensor> grads(long seed, double scale) {
        Random r = new Random(seed);
        Map<String, Tensor> g = new LinkedHashMap<>();
        int[][] shapes = {{4, 3}, {7}, {2, 2, 5}};
        for (int i = 0; i < shapes.length; i++) {
            int n = 1;
            for (int d : shapes[i]) n *= d;
            double[] v = new double[n];
            for (int j = 0; j < n; j++) v[j] = scale * r.nextGaussian();
            g.put("p" + i, BE.fromDoubles(v, shapes[i]));
        }
        return g;
    }

    private static Map<String, double[]> values(Map<String, Tensor> g) {
        Map<String, double[]> out = new LinkedHashMap<>();
        g.forEach((k, t) -> out.put(k, BE.toDoubles(t)));
        return out;
    }

    /** √(Σ over all gradients of Σ g²), in double over the values. */
    private static double norm(Map<String, double[]> g) {
        double s = 0;
        for (double[] v : g.values()) for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    @Test
    void globalNormIsTheL2NormOverEveryGradient() {
        Map<String, Tensor> g = grads(1, 0.7);
        double want = norm(values(g));
        // F64: the same sum in another order, a few ulps at most
        assertThat(GradClip.globalNorm(BE, g)).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-14 * want));
        assertThat(GradClip.globalNorm(BE, Map.of())).isZero();                        // every gradient None
        Map<String, Tensor> f32 = new LinkedHashMap<>();
        g.forEach((k, t) -> f32.put(k, BE.cast(t, DType.F32)));
        // fp32 sums of squares (≤ 20 elements per tensor): measured 1.8e-8 relative; bound 2e-6 ≈ 17 fp32 ulps
        assertThat(GradClip.globalNorm(BE, f32)).isCloseTo(norm(values(f32)),
                org.assertj.core.data.Offset.offset(2e-6 * want));
    }

    @Test
    void aboveTheThresholdEveryGradientIsScaledByMaxOverNormPlusEps() {
        Map<String, Tensor> g = grads(2, 1.0);
        Map<String, double[]> before = values(g);
        double n = norm(before), max = n / 3;
        double returned = GradClip.clip(BE, g, max);
        assertThat(returned).isCloseTo(n, org.assertj.core.data.Offset.offset(1e-14 * n));   // the norm before
        double f = max / (returned + 1e-6);                                                   // clip_grad_norm_'s
        Map<String, double[]> after = values(g);
        before.forEach((name, v) -> {
            double[] a = after.get(name);
            for (int i = 0; i < v.length; i++) assertThat(a[i]).as("%s[%d]", name, i).isEqualTo(v[i] * f);
        });
        // the clipped norm: max·n/(n + 1e-6), just under max
        assertThat(norm(after)).isLessThan(max)
                .isCloseTo(max * n / (n + 1e-6), org.assertj.core.data.Offset.offset(1e-13));
    }

    @Test
    void atOrBelowTheThresholdOrWithClippingOffNothingChanges() {
        Map<String, Tensor> g = grads(3, 1.0);
        Map<String, double[]> before = values(g);
        double n = norm(before);
        for (double max : new double[]{2 * n, n * (1 + 1e-9), 0.0}) {                   // 0 = clipping off
            assertThat(GradClip.clip(BE, g, max)).isCloseTo(n, org.assertj.core.data.Offset.offset(1e-14 * n));
            Map<String, double[]> after = values(g);
            before.forEach((name, v) -> assertThat(after.get(name)).as("%s, max %s", name, max).containsExactly(v));
        }
    }

    /**
     * A NaN or ±∞ gradient element makes the norm non-finite; it is returned as it is and no gradient is touched, so
     * the training loop's non-finite check names the parameter (torch's clip_grad_norm_ would instead multiply every
     * gradient by NaN, or by 0 for an infinite norm, which silently zeroes the finite ones).
     */
    @Test
    void aNonFiniteNormIsReturnedAndTheGradientsAreLeftAlone() {
        for (double bad : new double[]{Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            Map<String, Tensor> g = grads(4, 1.0);
            double[] p1 = BE.toDoubles(g.get("p1"));
            p1[3] = bad;
            g.put("p1", BE.fromDoubles(p1, 7));
            Map<String, double[]> before = values(g);
            double n = GradClip.clip(BE, g, 1.0);
            if (Double.isNaN(bad)) assertThat(n).isNaN();
            else assertThat(n).isEqualTo(Double.POSITIVE_INFINITY);
            Map<String, double[]> after = values(g);
            before.forEach((name, v) -> assertThat(after.get(name)).as("%s with %s", name, bad).containsExactly(v));
        }
    }
}
