package moonlight4j.model;

import java.util.LinkedHashMap;

/**
 * Every parameter of the model with its shape, under its HF name, in the order of the HF module tree
 * (docs/model.md#tensor-names-and-shapes): {@code model.embed_tokens}, then per layer {@code self_attn}, {@code mlp},
 * the two norms, then {@code model.norm}, {@code lm_head}. Used to initialise, to check a loaded checkpoint and to
 * count parameters.
 */
public final class ModelShapes {

    private ModelShapes() {
    }

    /** name → shape for the whole model. */
    public static LinkedHashMap<String, int[]> expected(MoonlightConfig c) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        int d = c.hiddenSize();
        m.put("model.embed_tokens.weight", new int[]{c.vocabSize(), d});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            attention(m, p + "self_attn.", c);
            if (c.isMoeLayer(i)) {
                moe(m, p + "mlp.", c);
            } else {
                mlp(m, p + "mlp.", d, c.intermediateSize());
            }
            m.put(p + "input_layernorm.weight", new int[]{d});
            m.put(p + "post_attention_layernorm.weight", new int[]{d});
        }
        m.put("model.norm.weight", new int[]{d});
        m.put("lm_head.weight", new int[]{c.vocabSize(), d});
        return m;
    }

    /** The parameters of one {@link MlaAttention} under {@code prefix}. */
    public static void attention(LinkedHashMap<String, int[]> m, String prefix, MoonlightConfig c) {
        int d = c.hiddenSize(), h = c.numAttentionHeads();
        if (c.qLoraRank() == null) {
            m.put(prefix + "q_proj.weight", new int[]{h * c.qHeadDim(), d});
        } else {
            m.put(prefix + "q_a_proj.weight", new int[]{c.qLoraRank(), d});
            m.put(prefix + "q_a_layernorm.weight", new int[]{c.qLoraRank()});
            m.put(prefix + "q_b_proj.weight", new int[]{h * c.qHeadDim(), c.qLoraRank()});
        }
        m.put(prefix + "kv_a_proj_with_mqa.weight", new int[]{c.kvLoraRank() + c.qkRopeHeadDim(), d});
        m.put(prefix + "kv_a_layernorm.weight", new int[]{c.kvLoraRank()});
        m.put(prefix + "kv_b_proj.weight", new int[]{h * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank()});
        m.put(prefix + "o_proj.weight", new int[]{d, h * c.vHeadDim()});
    }

    /** The parameters of one {@link Moe} under {@code prefix}: experts, gate, shared experts (HF order). */
    public static void moe(LinkedHashMap<String, int[]> m, String prefix, MoonlightConfig c) {
        int d = c.hiddenSize();
        for (int e = 0; e < c.nRoutedExperts(); e++) {
            mlp(m, prefix + "experts." + e + ".", d, c.moeIntermediateSize());
        }
        m.put(prefix + "gate.weight", new int[]{c.nRoutedExperts(), d});
        m.put(prefix + "gate.e_score_correction_bias", new int[]{c.nRoutedExperts()});
        if (c.sharedIntermediateSize() > 0) mlp(m, prefix + "shared_experts.", d, c.sharedIntermediateSize());
    }

    /** The parameters of one SwiGLU {@link Mlp} under {@code prefix}. */
    public static void mlp(LinkedHashMap<String, int[]> m, String prefix, int d, int inter) {
        m.put(prefix + "gate_proj.weight", new int[]{inter, d});
        m.put(prefix + "up_proj.weight", new int[]{inter, d});
        m.put(prefix + "down_proj.weight", new int[]{d, inter});
    }

    /** True for parameters kept in fp32 whatever the model dtype (the router bias, as DeepSeek-V3 stores it). */
    public static boolean isFp32Always(String name) {
        return name.endsWith("e_score_correction_bias");
    }

    /** True for RMSNorm weights (initialised to 1). */
    public static boolean isNorm(String name) {
        return name.endsWith("norm.weight");
    }

    /** True for the embedding and the output head (excluded from the "non-embedding" counts). */
    public static boolean isEmbedding(String name) {
        return name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight");
    }
}
