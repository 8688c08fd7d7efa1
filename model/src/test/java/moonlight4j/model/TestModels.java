package moonlight4j.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Small Moonlight-shaped configs for fast tests. */
final class TestModels {

    private TestModels() {
    }

    /** The tiny preset's structure, narrower: 3 layers (1 dense + 2 MoE), hidden 32, 4 heads, 8 experts k 2. */
    static MoonlightConfig small() {
        ObjectNode j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 3).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 64);
        return MoonlightConfig.fromJson(j, "small test config");
    }

    /** {@link #small()} with q_lora_rank 12 and grouped routing (4 groups, keep 2). */
    static MoonlightConfig smallQloraGrouped() {
        ObjectNode j = small().toJson();
        j.put("q_lora_rank", 12).put("n_group", 4).put("topk_group", 2);
        return MoonlightConfig.fromJson(j, "small q_lora grouped config");
    }

    static ObjectNode json(MoonlightConfig c) {
        return c.toJson();
    }

    static final ObjectMapper MAPPER = new ObjectMapper();
}
