package moonlight4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;

/** A narrow MoE config and a small arithmetic dataset, so a training step takes milliseconds. */
final class TrainTestSupport {

    static final Backend BE = Backends.get("cpu");

    private TrainTestSupport() {
    }

    /** tiny's structure, narrower: hidden 32, 3 layers (1 dense + 2 MoE), 8 experts k 2, byte vocabulary. */
    static MoonlightConfig smallConfig() {
        ObjectNode j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 3).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", ArithmeticExperiment.VOCAB);
        return MoonlightConfig.fromJson(j, "small train test config");
    }

    static TokenDataset data() {
        return ArithmeticExperiment.trainSet(7, 16);
    }

    static TrainOptions options(String optimizer, int steps) {
        return new TrainOptions(optimizer, 3e-3, 0.1, steps, 4, 2, 1, 1.0, 1e-3, 99, 0);
    }
}
