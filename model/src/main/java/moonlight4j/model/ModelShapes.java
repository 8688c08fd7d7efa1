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

    // ------------------------------------------------------------------ sizes without building the map

    /**
     * Number of MoE layers, {@code #{i < num_hidden_layers : i ≥ first_k_dense_replace, i % moe_layer_freq = 0}}
     * (as {@link MoonlightConfig#isMoeLayer}), counted without a loop; 0 for a dense model.
     */
    public static long moeLayerCount(MoonlightConfig c) {
        if (c.nRoutedExperts() == null) return 0;
        long last = c.numHiddenLayers() - 1L, first = c.firstKDenseReplace(), f = c.moeLayerFreq();
        if (first > last) return 0;
        return last / f - (first + f - 1) / f + 1;                      // multiples of f in [first, last]
    }

    /** {@code expected(c).size()}, computed without building the map; saturates at {@link Long#MAX_VALUE}. */
    public static long tensorCount(MoonlightConfig c) {
        long moe = moeLayerCount(c), dense = c.numHiddenLayers() - moe;
        // q (or q_a_proj, q_a_layernorm, q_b_proj), kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj
        long attention = (c.qLoraRank() == null ? 1 : 3) + 4;
        long experts = c.nRoutedExperts() == null ? 0 : c.nRoutedExperts();
        boolean shared = c.nSharedExperts() != null && c.nSharedExperts() > 0;
        long perMoe = add(mul(3, experts), 2 + (shared ? 3 : 0));             // experts, gate + bias, shared MLP
        // embed_tokens, model.norm, lm_head; per layer attention + 2 norms; per dense layer a 3-matrix MLP
        return add(3, mul(c.numHiddenLayers(), attention + 2), mul(dense, 3), mul(moe, perMoe));
    }

    /**
     * The parameter count of {@code expected(c)} by part, each part named by the config fields it grows with,
     * computed without building the map; a part that overflows a {@code long} is {@link Long#MAX_VALUE}. The parts
     * sum to {@link ParameterCounts#total()} (tested).
     */
    public static LinkedHashMap<String, Long> parameterParts(MoonlightConfig c) {
        long d = c.hiddenSize(), h = c.numAttentionHeads(), kv = c.kvLoraRank();
        long qHead = (long) c.qkNopeHeadDim() + c.qkRopeHeadDim();
        long q = c.qLoraRank() == null ? mul(h, qHead, d)
                : add(mul(c.qLoraRank(), d), c.qLoraRank(), mul(h, qHead, c.qLoraRank()));
        long attention = add(q, mul(kv + c.qkRopeHeadDim(), d), kv, mul(h, (long) c.qkNopeHeadDim() + c.vHeadDim(), kv),
                mul(d, h, c.vHeadDim()), 2 * d);                                    // + input/post-attention norms
        long moe = moeLayerCount(c), dense = c.numHiddenLayers() - moe;
        long experts = c.nRoutedExperts() == null ? 0 : c.nRoutedExperts();
        long shared = c.nSharedExperts() == null ? 0 : mul(c.nSharedExperts(), c.moeIntermediateSize());
        LinkedHashMap<String, Long> parts = new LinkedHashMap<>();
        parts.put("embed_tokens and lm_head: 2 × vocab_size × hidden_size", mul(2, c.vocabSize(), d));
        parts.put("attention and norms: num_hidden_layers × (projections over num_attention_heads, head dims, "
                + "kv_lora_rank, q_lora_rank, hidden_size)", add(mul(c.numHiddenLayers(), attention), d));
        parts.put("dense MLPs: " + dense + " dense layers × 3 × hidden_size × intermediate_size",
                mul(dense, 3, d, c.intermediateSize()));
        parts.put("routed experts: " + moe
                        + " MoE layers × n_routed_experts × 3 × hidden_size × moe_intermediate_size",
                mul(moe, experts, 3, d, c.moeIntermediateSize()));
        parts.put("routers: " + moe + " MoE layers × n_routed_experts × (hidden_size + 1)", mul(moe, experts, d + 1));
        parts.put("shared experts: " + moe
                        + " MoE layers × 3 × hidden_size × n_shared_experts × moe_intermediate_size",
                mul(moe, 3, d, shared));
        return parts;
    }

    /** Product of non-negative factors, {@link Long#MAX_VALUE} when it overflows. */
    private static long mul(long... factors) {
        long p = 1;
        for (long f : factors) {
            if (f == 0) return 0;
            p = p > Long.MAX_VALUE / f ? Long.MAX_VALUE : p * f;
        }
        return p;
    }

    /** Sum of non-negative terms, {@link Long#MAX_VALUE} when it overflows. */
    private static long add(long... terms) {
        long s = 0;
        for (long t : terms) s = s > Long.MAX_VALUE - t ? Long.MAX_VALUE : s + t;
        return s;
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
