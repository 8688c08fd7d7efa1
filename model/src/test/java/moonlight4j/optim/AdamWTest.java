package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static moonlight4j.optim.OptimTestSupport.gaussian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code torch.optim.AdamW} semantics (single-tensor path, amsgrad off). */
class AdamWTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void matchesTorchAdamWTranscription() {
        int a = 16, b = 12;
        double lr = 1e-3, wd = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8;
        Random rnd = new Random(5);
        float[] p0 = gaussian(rnd, a * b, 1);
        double[] p = new double[p0.length], m = new double[p0.length], v = new double[p0.length];
        for (int i = 0; i < p.length; i++) p[i] = p0[i];
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", BE.fromFloats(p0, a, b)));
        try (AdamW opt = new AdamW(BE, AdamW.Options.toyTrain())) {
            for (int t = 1; t <= 4; t++) {
                float[] g = gaussian(rnd, a * b, 1);
                try (Tensor gt = BE.fromFloats(g, a, b)) {
                    opt.step(params, Map.of("w", gt), lr);
                }
                double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
                for (int i = 0; i < p.length; i++) {                 // torch/optim/adamw.py, _single_tensor_adamw
                    p[i] *= 1 - lr * wd;
                    m[i] += (1 - b1) * (g[i] - m[i]);
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * (double) g[i];
                    p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
                }
            }
            float[] ours = BE.toFloats(params.get("w"));
            for (int i = 0; i < p.length; i++) assertThat((double) ours[i]).isCloseTo(p[i], within(1e-6));
        }
        params.values().forEach(Tensor::close);
    }

    /**
     * docs/muon.md#internal-adamw: torch adds eps to the bias-corrected √v̂, Muon's internal AdamW to the uncorrected
     * √v. For a gradient far below eps the first steps differ: torch moves lr·g/(|g| + eps), the release
     * lr·√(1−β2)·g/(eps + √(1−β2)·|g|).
     */
    @Test
    void epsPlacementDiffersFromMuonsInternalAdamW() {
        double lr = 1.0, g = 1e-9, eps = 1e-8;
        float[] grad = {(float) g};
        Map<String, Tensor> pa = new LinkedHashMap<>(Map.of("model.norm.weight", BE.zeros(moonlight4j.api.DType.F32, 1)));
        Map<String, Tensor> pm = new LinkedHashMap<>(Map.of("model.norm.weight", BE.zeros(moonlight4j.api.DType.F32, 1)));
        try (AdamW adamw = new AdamW(BE, new AdamW.Options(0, 0.9, 0.95, eps));
             Muon muon = new Muon(BE, Muon.Options.defaults().withWeightDecay(0));
             Tensor gt = BE.fromFloats(grad, 1)) {
            adamw.step(pa, Map.of("model.norm.weight", gt), lr);
            muon.step(pm, Map.of("model.norm.weight", gt), lr);
            double gf = grad[0];
            assertThat(-BE.toDoubles(pa.get("model.norm.weight"))[0]).isCloseTo(lr * gf / (gf + eps), within(1e-6));
            double s = Math.sqrt(0.05);
            assertThat(-BE.toDoubles(pm.get("model.norm.weight"))[0]).isCloseTo(lr * s * gf / (eps + s * gf), within(1e-6));
        }
        pa.values().forEach(Tensor::close);
        pm.values().forEach(Tensor::close);
    }
}
