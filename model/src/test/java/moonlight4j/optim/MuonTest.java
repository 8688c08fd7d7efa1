package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static moonlight4j.optim.OptimTestSupport.gaussian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/** Muon as released (docs/muon.md#one-step), checked against plain-Java transcriptions of each rule. */
class MuonTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void firstMuonStepIsDecayThenScaledNs() {
        int a = 32, b = 24;
        double lr = 0.02, wd = 0.1, mu = 0.95;
        Random rnd = new Random(1);
        float[] p0 = gaussian(rnd, a * b, 0.1), g = gaussian(rnd, a * b, 1.0);
        float[] nesterov = new float[g.length];                      // g' = g + μ·buf with buf = g at step 1
        for (int i = 0; i < g.length; i++) nesterov[i] = (float) (g[i] + (double) (float) mu * g[i]);
        double[] o;
        try (Tensor gp = BE.fromFloats(nesterov, a, b); Tensor ot = NewtonSchulz.release().apply(BE, gp)) {
            o = BE.toDoubles(ot);
        }
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", BE.fromFloats(p0, a, b)));
        try (Muon muon = new Muon(BE, Muon.Options.defaults()); Tensor gt = BE.fromFloats(g, a, b)) {
            Map<String, Double> rms = muon.step(params, Map.of("w", gt), lr);
            double adjusted = lr * 0.2 * Math.sqrt(32);                // Eq. 4: lr·0.2·√max(A,B)
            float[] p1 = BE.toFloats(params.get("w"));
            double ss = 0;
            for (int i = 0; i < p0.length; i++) {
                float decayed = (float) (p0[i] * (double) (float) (1 - lr * wd));
                assertThat((double) p1[i]).isCloseTo(decayed - adjusted * o[i], within(2e-8));
                ss += o[i] * o[i];
            }
            double expected = adjusted * Math.sqrt(ss / o.length);
            assertThat(rms.get("w")).isCloseTo(expected, within(1e-5 * expected));   // fp32 sum of squares
            try (Tensor buf = muon.stateDict().get("w.momentum_buffer")) {
                assertThat(BE.toFloats(buf)).containsExactly(g);       // buf = μ·0 + g
            }
        }
        params.values().forEach(Tensor::close);
    }

    /** Without Nesterov NS sees buf = μ·buf + g; two steps against a transcription of docs/muon.md#momentum-and-nesterov. */
    @Test
    void plainMomentumAccumulates() {
        int a = 20, b = 24;
        Random rnd = new Random(2);
        float[] g1 = gaussian(rnd, a * b, 1), g2 = gaussian(rnd, a * b, 1);
        Muon.Options opt = Muon.Options.defaults().withMomentum(0.9, false).withWeightDecay(0);
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", BE.zeros(DType.F32, a, b)));
        try (Muon muon = new Muon(BE, opt); Tensor t1 = BE.fromFloats(g1, a, b); Tensor t2 = BE.fromFloats(g2, a, b)) {
            muon.step(params, Map.of("w", t1), 0.01);
            muon.step(params, Map.of("w", t2), 0.01);
            float[] buf = BE.toFloats(muon.stateDict().get("w.momentum_buffer"));
            for (int i = 0; i < buf.length; i++) assertThat(buf[i]).isEqualTo((float) ((float) (0.9f * g1[i]) + (double) g2[i]));
        }
        params.values().forEach(Tensor::close);
    }

    /** docs/muon.md#internal-adamw: lerp moments, eps on the uncorrected √v, step lr·√(1−β2^t)/(1−β1^t), decay first. */
    @Test
    void internalAdamWFollowsTheRelease() {
        int n = 24;
        double lr = 0.02, wd = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8;
        Random rnd = new Random(3);
        float[] p0 = gaussian(rnd, n, 1);
        double[] p = new double[n], m = new double[n], v = new double[n];
        for (int i = 0; i < n; i++) p[i] = p0[i];
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("model.norm.weight", BE.fromFloats(p0, n)));
        try (Muon muon = new Muon(BE, Muon.Options.defaults())) {
            for (int t = 1; t <= 3; t++) {
                float[] g = gaussian(rnd, n, 1e-3);
                try (Tensor gt = BE.fromFloats(g, n)) {
                    muon.step(params, Map.of("model.norm.weight", gt), lr);
                }
                double step = lr * Math.sqrt(1 - Math.pow(b2, t)) / (1 - Math.pow(b1, t));
                for (int i = 0; i < n; i++) {
                    m[i] += (1 - b1) * (g[i] - m[i]);
                    v[i] += (1 - b2) * ((double) g[i] * g[i] - v[i]);
                    p[i] = p[i] * (1 - lr * wd) - step * m[i] / (eps + Math.sqrt(v[i]));
                }
            }
            float[] ours = BE.toFloats(params.get("model.norm.weight"));
            for (int i = 0; i < n; i++) assertThat((double) ours[i]).isCloseTo(p[i], within(1e-6));
            try (Tensor steps = muon.stateDict().get("model.norm.weight.step")) {
                assertThat(BE.toLongs(steps)).containsExactly(3L);
            }
        }
        params.values().forEach(Tensor::close);
    }

    /** docs/muon.md#grad-none: a parameter without a gradient is untouched: no decay, no state change, no step count. */
    @Test
    void gradNoneSkipsTheParameterEntirely() {
        Random rnd = new Random(4);
        Map<String, int[]> shapes = OptimTestSupport.toyShapes();
        Map<String, Tensor> params = OptimTestSupport.randomTensors(BE, shapes, rnd, 0.1);
        try (Muon muon = new Muon(BE, Muon.Options.defaults())) {
            Map<String, Tensor> g1 = OptimTestSupport.randomTensors(BE, shapes, rnd, 1);
            muon.step(params, g1, 0.02);
            Map<String, Tensor> before = OptimTestSupport.copies(BE, params);
            Map<String, Tensor> stateBefore = muon.stateDict();
            Map<String, Tensor> g2 = OptimTestSupport.randomTensors(BE, shapes, rnd, 1);
            String skippedMatrix = "model.layers.0.mlp.down_proj.weight", skippedVector = "model.norm.weight";
            g2.remove(skippedMatrix).close();
            g2.remove(skippedVector).close();
            Map<String, Double> rms = muon.step(params, g2, 0.02);
            assertThat(rms).doesNotContainKeys(skippedMatrix, skippedVector).containsKey("lm_head.weight");
            Map<String, Tensor> stateAfter = muon.stateDict();
            for (String n : shapes.keySet()) {
                boolean skipped = n.equals(skippedMatrix) || n.equals(skippedVector);
                boolean same = java.util.Arrays.equals(BE.toFloats(before.get(n)), BE.toFloats(params.get(n)));
                assertThat(same).as("%s unchanged", n).isEqualTo(skipped);
            }
            for (String key : stateBefore.keySet()) {
                boolean skipped = key.startsWith(skippedMatrix + ".") || key.startsWith(skippedVector + ".");
                boolean same = java.util.Arrays.equals(BE.toDoubles(stateBefore.get(key)), BE.toDoubles(stateAfter.get(key)));
                assertThat(same).as("state %s unchanged", key).isEqualTo(skipped);
            }
            assertThat(BE.toLongs(stateAfter.get("model.norm.weight.step"))).containsExactly(1L);
            assertThat(BE.toLongs(stateAfter.get("lm_head.weight.step"))).containsExactly(2L);
            OptimTestSupport.closeAll(g1);
            OptimTestSupport.closeAll(g2);
            OptimTestSupport.closeAll(before);
            OptimTestSupport.closeAll(stateBefore);
            OptimTestSupport.closeAll(stateAfter);
        }
        OptimTestSupport.closeAll(params);
    }

    /**
     * Paper Lemma 1 and Eq. 4 (docs/muon.md#update-scale): under match_rms_adamw a full-rank A×B update has RMS ≈
     * 0.2·lr; NS5 is not exactly orthogonal (singular values 0.68–1.2), so it is a bit lower. Measured over 1,800
     * Gaussian gradients with sides 17..128 (all aspect ratios): bf16 NS [0.1520, 0.1892]·lr, fp32 NS [0.1602,
     * 0.1870]·lr. The returned RMS must also be the RMS of the actual parameter change (wd = 0).
     */
    @Test
    void updateRmsUnderMatchRmsAdamW() {
        qt().withExamples(25).forAll(integers().between(17, 128), integers().between(17, 128), longs().all())
                .checkAssert((a, b, seed) -> {
                    Random rnd = new Random(seed);
                    double lr = 0.02;
                    Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", BE.zeros(DType.F32, a, b)));
                    try (Muon muon = new Muon(BE, Muon.Options.defaults().withWeightDecay(0));
                         Tensor g = BE.fromFloats(gaussian(rnd, a * b, 1), a, b)) {
                        double rms = muon.step(params, Map.of("w", g), lr).get("w");
                        assertThat(rms / lr).as("%dx%d", a, b).isBetween(0.145, 0.195);
                        double ss = 0;
                        for (float x : BE.toFloats(params.get("w"))) ss += (double) x * x;
                        assertThat(Math.sqrt(ss / (a * b))).isCloseTo(rms, within(1e-4 * rms));   // fp32 sequential sum of ≤ 16,384 squares: ~√n·2⁻²⁴ ≈ 1e-5 typical (measured 1.01e-5)
                    }
                    params.values().forEach(Tensor::close);
                });
    }

    @Test
    void adjustLrModes() {
        assertThat(AdjustLr.MATCH_RMS_ADAMW.adjust(0.02, 2048, 11264)).isEqualTo(0.02 * (0.2 * Math.sqrt(11264)));
        assertThat(AdjustLr.MATCH_RMS_ADAMW.adjust(1e-3, 512, 4096)).isEqualTo(AdjustLr.MATCH_RMS_ADAMW.adjust(1e-3, 4096, 512));
        assertThat(AdjustLr.ORIGINAL.adjust(0.02, 4096, 512)).isCloseTo(0.02 * Math.sqrt(8), within(1e-15));
        assertThat(AdjustLr.ORIGINAL.adjust(0.02, 512, 4096)).isEqualTo(0.02);
        try (Muon m = new Muon(BE, Muon.Options.defaults().withAdjustLr(AdjustLr.ORIGINAL))) {
            assertThat(m.adjustedLr(0.1, new int[]{64, 16})).isCloseTo(0.2, within(1e-15));
        }
    }

    @Test
    void badArgumentsNameTheParameter() {
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", BE.zeros(DType.F32, 20, 30)));
        try (Muon muon = new Muon(BE, Muon.Options.defaults()); Tensor g = BE.zeros(DType.F32, 30, 20);
             Tensor g2 = BE.zeros(DType.F32, 20, 30)) {
            assertThatThrownBy(() -> muon.step(params, Map.of("w", g), 0.1)).hasMessageContaining("'w'")
                    .hasMessageContaining("[30, 20]");
            assertThatThrownBy(() -> muon.step(params, Map.of("v", g2), 0.1)).hasMessageContaining("'v'");
            assertThatThrownBy(() -> muon.loadStateDict(Map.of("w.momentum", g2))).hasMessageContaining("w.momentum")
                    .hasMessageContaining("unknown slot");
            try (Tensor wrong = BE.zeros(DType.F32, 30, 20)) {
                muon.loadStateDict(Map.of("w.momentum_buffer", wrong));
            }
            assertThatThrownBy(() -> muon.step(params, Map.of("w", g2), 0.1)).hasMessageContaining("w.momentum_buffer")
                    .hasMessageContaining("[30, 20]").hasMessageContaining("[20, 30]");
        }
        params.values().forEach(Tensor::close);
    }
}
