package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Run 3 steps, save the state, continue 2 steps; a fresh optimizer loaded from the saved state, continuing from the
 * saved parameters with the same 2 gradients, must end bit-identical (parameters and state).
 */
class StateDictRoundTripTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void muonResumesBitIdentically() {
        check(() -> new Muon(BE, Muon.Options.defaults()));
    }

    @Test
    void muonFp32NsWithoutNesterovResumesBitIdentically() {
        check(() -> new Muon(BE, Muon.Options.defaults().withMomentum(0.9, false).withNewtonSchulz(NewtonSchulz.fp32())));
    }

    @Test
    void adamWResumesBitIdentically() {
        check(() -> new AdamW(BE, AdamW.Options.toyTrain()));
    }

    private static void check(Supplier<Optimizer> make) {
        Map<String, int[]> shapes = OptimTestSupport.toyShapes();
        Random rnd = new Random(9);
        List<Map<String, Tensor>> grads = new ArrayList<>();
        for (int k = 0; k < 5; k++) grads.add(OptimTestSupport.randomTensors(BE, shapes, rnd, 1));
        grads.get(3).remove("model.norm.weight").close();                   // a grad-None step after the save
        grads.get(4).remove("model.layers.0.self_attn.q_proj.weight").close();
        Map<String, Tensor> params = OptimTestSupport.randomTensors(BE, shapes, rnd, 0.1);
        try (Optimizer first = make.get(); Optimizer resumed = make.get()) {
            for (int k = 0; k < 3; k++) first.step(params, grads.get(k), 0.02);
            Map<String, Tensor> saved = first.stateDict();
            Map<String, Tensor> savedParams = OptimTestSupport.copies(BE, params);
            for (int k = 3; k < 5; k++) first.step(params, grads.get(k), 0.02);

            resumed.loadStateDict(saved);
            OptimTestSupport.closeAll(saved);                                // loading copied it
            for (int k = 3; k < 5; k++) resumed.step(savedParams, grads.get(k), 0.02);

            for (String n : shapes.keySet()) {
                assertThat(BE.toFloats(savedParams.get(n))).as(n).containsExactly(BE.toFloats(params.get(n)));
            }
            Map<String, Tensor> a = first.stateDict(), b = resumed.stateDict();
            assertThat(b.keySet()).containsExactlyInAnyOrderElementsOf(a.keySet());
            for (String key : a.keySet()) {
                assertThat(BE.toDoubles(b.get(key))).as(key).containsExactly(BE.toDoubles(a.get(key)));
            }
            OptimTestSupport.closeAll(a);
            OptimTestSupport.closeAll(b);
            OptimTestSupport.closeAll(savedParams);
        }
        OptimTestSupport.closeAll(params);
        grads.forEach(OptimTestSupport::closeAll);
    }
}
