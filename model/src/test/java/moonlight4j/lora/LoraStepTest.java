package moonlight4j.lora;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.optim.Muon;
import moonlight4j.optim.ParamSplit;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * LoRA steps with Muon on a loss whose weight gradient is known in closed form, so no model backward is needed:
 * {@code f = ½ Σ_w ‖W_eff − W*‖²}, {@code dW = W_eff − W*}, with {@code W* = W0 + a rank-2 change} per target.
 */
class LoraStepTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void muonOnTheAdaptersFitsALowRankChangeAndLeavesTheBaseAlone() {
        MoonlightConfig cfg = LoraTest.small();
        Parameters base = ModelInit.random(cfg, BE, DType.F32, 1);
        LoraAdapters lora = LoraAdapters.init(new LoraConfig(4, 8, List.of("q_proj", "kv_b_proj", "o_proj"), false,
                null), cfg, BE, DType.F32, 2);
        Random rnd = new Random(5);
        Map<String, Tensor> target = new LinkedHashMap<>();
        for (String w : lora.targets()) {
            int out = base.get(w).dim(0), in = base.get(w).dim(1);
            float[] u = new float[out * 2], v = new float[2 * in];
            for (int i = 0; i < u.length; i++) u[i] = (float) (0.05 * rnd.nextGaussian());
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            target.put(w, BE.add(base.get(w), BE.matmul(BE.fromFloats(u, out, 2), BE.fromFloats(v, 2, in), false, false)));
        }
        float[] baseBefore = BE.toFloats(base.get("model.layers.0.self_attn.q_proj.weight"));
        Parameters effective = LoraStep.effectiveWeights(BE, lora, base);
        Muon muon = new Muon(BE, Muon.Options.defaults().withWeightDecay(0));
        assertThat(ParamSplit.RELEASE.describe(lora.parameters().asMap())).startsWith("Muon: 12 tensors")
                .contains("AdamW: 0 tensors");
        double first = loss(effective, target), last = first;
        for (int step = 0; step < 60; step++) {
            Map<String, Tensor> dW = new LinkedHashMap<>();
            for (String w : lora.targets()) dW.put(w, BE.sub(effective.get(w), target.get(w)));
            Map<String, Double> rms = LoraStep.step(BE, lora, muon, dW, 0.02, 0).updateRms();
            assertThat(rms).hasSize(12);                      // every A and B is updated (dA = 0 at step 0: B = 0)
            LoraStep.refresh(BE, lora, base, effective);
            last = loss(effective, target);
        }
        // measured: the loss falls from 19.1 to 0.81 (×0.042) in 60 steps; asserting at least a 5× drop
        assertThat(last).isLessThan(first / 5);
        assertThat(BE.toFloats(base.get("model.layers.0.self_attn.q_proj.weight"))).containsExactly(baseBefore);
    }

    private static double loss(Parameters effective, Map<String, Tensor> target) {
        double f = 0;
        for (Map.Entry<String, Tensor> e : target.entrySet()) {
            double[] a = BE.toDoubles(effective.get(e.getKey())), b = BE.toDoubles(e.getValue());
            for (int i = 0; i < a.length; i++) f += 0.5 * (a[i] - b[i]) * (a[i] - b[i]);
        }
        return f;
    }
}
