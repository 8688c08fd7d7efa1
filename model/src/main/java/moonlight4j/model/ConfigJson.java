package moonlight4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code config.json} ↔ {@link MoonlightConfig}. A missing field takes the {@code DeepseekV3Config.__init__}
 * default (as {@code from_pretrained} would); a field of the wrong JSON type is an error naming it; a value this
 * port does not implement is an error naming the field and what is supported.
 */
final class ConfigJson {

    static final ObjectMapper MAPPER = new ObjectMapper();

    /** Fields that do not change the forward pass; accepted and written back verbatim. */
    static final Set<String> ACCEPTED_UNUSED = Set.of(
            "aux_loss_alpha", "seq_aux", "ep_size", "pretraining_tp", "num_nextn_predict_layers", "use_cache",
            "torch_dtype", "initializer_range", "bos_token_id", "eos_token_id", "pad_token_id", "architectures",
            "auto_map", "model_type", "transformers_version");

    private ConfigJson() {
    }

    /** Reads fields one by one, remembering which ones were consumed. */
    private static final class Reader {
        final JsonNode json;
        final String source;
        final Set<String> seen = new HashSet<>();

        Reader(JsonNode json, String source) {
            this.json = json;
            this.source = source;
        }

        private JsonNode node(String field) {
            seen.add(field);
            JsonNode n = json.get(field);
            return n == null || n.isMissingNode() ? null : n;
        }

        private IllegalArgumentException wrongType(String field, String expected, JsonNode n) {
            return new IllegalArgumentException(source + ": config field '" + field + "' must be " + expected
                    + ", got " + n);
        }

        int integer(String field, int dflt) {
            Integer v = nullableInt(field, dflt);
            if (v == null) throw wrongType(field, "an integer", json.get(field));
            return v;
        }

        Integer nullableInt(String field, Integer dflt) {
            JsonNode n = node(field);
            if (n == null) return dflt;
            if (n.isNull()) return null;
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrongType(field, "an integer", n);
            return n.intValue();
        }

        double number(String field, double dflt) {
            JsonNode n = node(field);
            if (n == null) return dflt;
            if (!n.isNumber()) throw wrongType(field, "a number", n);
            if (!Double.isFinite(n.doubleValue())) throw wrongType(field, "a finite number (within double range)", n);
            return n.doubleValue();
        }

        boolean bool(String field, boolean dflt) {
            JsonNode n = node(field);
            if (n == null) return dflt;
            if (!n.isBoolean()) throw wrongType(field, "true or false", n);
            return n.booleanValue();
        }

        String text(String field, String dflt) {
            JsonNode n = node(field);
            if (n == null) return dflt;
            if (!n.isTextual()) throw wrongType(field, "a string", n);
            return n.textValue();
        }
    }

    static MoonlightConfig parse(JsonNode json, String source) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object (config.json), got "
                    + (json == null ? "nothing" : json.getNodeType()));
        }
        Reader r = new Reader(json, source);
        // defaults: DeepseekV3Config.__init__ (configuration_deepseek.py)
        int vocab = r.integer("vocab_size", 129280);
        int hidden = r.integer("hidden_size", 7168);
        int inter = r.integer("intermediate_size", 18432);
        int moeInter = r.integer("moe_intermediate_size", 2048);
        int layers = r.integer("num_hidden_layers", 61);
        int heads = r.integer("num_attention_heads", 128);
        Integer kvHeads = r.nullableInt("num_key_value_heads", 128);
        Integer nShared = r.nullableInt("n_shared_experts", 1);
        Integer nRouted = r.nullableInt("n_routed_experts", 256);
        double rsf = r.number("routed_scaling_factor", 2.5);
        int kvLora = r.integer("kv_lora_rank", 512);
        Integer qLora = r.nullableInt("q_lora_rank", 1536);
        int rope = r.integer("qk_rope_head_dim", 64);
        int vDim = r.integer("v_head_dim", 128);
        int nope = r.integer("qk_nope_head_dim", 128);
        String topkMethod = r.text("topk_method", "noaux_tc");
        int nGroup = r.integer("n_group", 8);
        int topkGroup = r.integer("topk_group", 4);
        int k = r.integer("num_experts_per_tok", 8);
        int freq = r.integer("moe_layer_freq", 1);
        int firstDense = r.integer("first_k_dense_replace", 3);
        boolean normTopk = r.bool("norm_topk_prob", true);
        String scoring = r.text("scoring_func", "sigmoid");
        String act = r.text("hidden_act", "silu");
        int maxPos = r.integer("max_position_embeddings", 4096);
        double eps = r.number("rms_norm_eps", 1e-6);
        boolean tie = r.bool("tie_word_embeddings", false);
        double theta = r.number("rope_theta", 10000.0);
        boolean bias = r.bool("attention_bias", false);
        double dropout = r.number("attention_dropout", 0.0);

        r.seen.add("rope_scaling");
        JsonNode ropeScaling = json.get("rope_scaling");
        if (ropeScaling != null && !ropeScaling.isNull()) {
            throw new IllegalArgumentException(source + ": config field 'rope_scaling' = " + ropeScaling
                    + " is not supported: YaRN/rope scaling is not implemented (docs/model.md#attention-scores); Moonlight has null");
        }
        Map<String, JsonNode> unused = new TreeMap<>();
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (r.seen.contains(f)) continue;
            if (ACCEPTED_UNUSED.contains(f)) unused.put(f, json.get(f).deepCopy());
            else unknown.add(f);
        }
        try {
            return new MoonlightConfig(vocab, hidden, inter, moeInter, layers, heads, kvHeads == null ? heads : kvHeads,
                    qLora, kvLora, nope, rope, vDim, nRouted, nShared, k, nGroup, topkGroup, topkMethod, scoring,
                    normTopk, rsf, firstDense, freq, theta, eps, maxPos, tie, bias, dropout, act, unused, unknown)
                    .validated();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** Rejects values that are not implemented or not meaningful; messages name the HF field. */
    static void validate(MoonlightConfig c) {
        require(c.hiddenSize() > 0, "hidden_size", c.hiddenSize(), "must be positive");
        require(c.vocabSize() > 0, "vocab_size", c.vocabSize(), "must be positive");
        require(c.intermediateSize() > 0, "intermediate_size", c.intermediateSize(), "must be positive");
        require(c.moeIntermediateSize() > 0, "moe_intermediate_size", c.moeIntermediateSize(), "must be positive");
        require(c.numHiddenLayers() > 0, "num_hidden_layers", c.numHiddenLayers(), "must be positive");
        require(c.numAttentionHeads() > 0, "num_attention_heads", c.numAttentionHeads(), "must be positive");
        require(c.qLoraRank() == null || c.qLoraRank() > 0, "q_lora_rank", c.qLoraRank(), "must be null or positive");
        require(c.kvLoraRank() > 0, "kv_lora_rank", c.kvLoraRank(), "must be positive");
        require(c.qkNopeHeadDim() > 0, "qk_nope_head_dim", c.qkNopeHeadDim(), "must be positive");
        require(c.qkRopeHeadDim() > 0 && c.qkRopeHeadDim() % 2 == 0, "qk_rope_head_dim", c.qkRopeHeadDim(),
                "must be positive and even (RoPE rotates pairs)");
        require(c.vHeadDim() > 0, "v_head_dim", c.vHeadDim(), "must be positive");
        require(c.numKeyValueHeads() > 0, "num_key_value_heads", c.numKeyValueHeads(), "must be positive");
        require(c.maxPositionEmbeddings() > 0, "max_position_embeddings", c.maxPositionEmbeddings(),
                "must be positive (the context length)");
        // the norms, router and RoPE compute in fp32/bf16: a value beyond fp32's range would turn into Inf/NaN
        require(c.rmsNormEps() > 0 && c.rmsNormEps() <= 1, "rms_norm_eps", c.rmsNormEps(),
                "must be in (0, 1] (the ε added to mean(x²); 1e-5 or 1e-6 in practice)");
        require(c.ropeTheta() > 0 && c.ropeTheta() <= Float.MAX_VALUE, "rope_theta", c.ropeTheta(),
                "must be a positive number within fp32 range (≤ 3.4e38)");
        require(c.routedScalingFactor() > 0 && c.routedScalingFactor() <= Float.MAX_VALUE, "routed_scaling_factor",
                c.routedScalingFactor(), "must be a positive number within fp32 range (≤ 3.4e38)");
        JsonNode init = c.unused().get("initializer_range");               // read by ModelInit
        require(init == null || init.isNull() || init.isNumber() && Double.isFinite(init.doubleValue())
                && init.doubleValue() >= 0, "initializer_range", init, "must be a finite number ≥ 0 (the σ of the "
                + "initial weights)");
        require(c.moeLayerFreq() >= 1, "moe_layer_freq", c.moeLayerFreq(), "must be ≥ 1");
        require(c.firstKDenseReplace() >= 0, "first_k_dense_replace", c.firstKDenseReplace(), "must be ≥ 0");
        require(c.nSharedExperts() == null || c.nSharedExperts() >= 0, "n_shared_experts", c.nSharedExperts(),
                "must be null or ≥ 0");
        require("noaux_tc".equals(c.topkMethod()), "topk_method", c.topkMethod(),
                "is not implemented: only \"noaux_tc\" (docs/model.md#router)");
        require("sigmoid".equals(c.scoringFunc()), "scoring_func", c.scoringFunc(),
                "is not implemented: only \"sigmoid\" (docs/model.md#router)");
        require("silu".equals(c.hiddenAct()), "hidden_act", c.hiddenAct(), "is not implemented: only \"silu\"");
        require(!c.attentionBias(), "attention_bias", true, "is not implemented: only false");
        require(!c.tieWordEmbeddings(), "tie_word_embeddings", true,
                "is not implemented: only false (untied lm_head, as Moonlight)");
        require(c.attentionDropout() == 0.0, "attention_dropout", c.attentionDropout(), "is not implemented: only 0.0");
        Integer e = c.nRoutedExperts();
        if (e != null) {
            require(e > 0, "n_routed_experts", e, "must be null or positive");
            require(c.nGroup() >= 1 && e % c.nGroup() == 0, "n_group", c.nGroup(),
                    "must divide n_routed_experts = " + e);
            require(c.nGroup() == 1 || e / c.nGroup() >= 2, "n_group", c.nGroup(),
                    "leaves fewer than 2 experts per group (the group score is a top-2 sum)");
            require(c.topkGroup() >= 1 && c.topkGroup() <= c.nGroup(), "topk_group", c.topkGroup(),
                    "must be in [1, n_group = " + c.nGroup() + "]");
            int reachable = c.topkGroup() * (e / c.nGroup());
            require(c.numExpertsPerTok() >= 1 && c.numExpertsPerTok() <= reachable, "num_experts_per_tok",
                    c.numExpertsPerTok(), "must be in [1, topk_group · n_routed_experts / n_group = " + reachable + "]");
        }
        validateSizes(c);
    }

    /**
     * Every derived width must fit an {@code int} (shapes are {@code int[]}), computed exactly; the tensor and
     * parameter counts must stay within {@link MoonlightConfig#MAX_TENSORS} and {@link MoonlightConfig#MAX_PARAMETERS}.
     * Both are computed arithmetically ({@link ModelShapes#tensorCount}, {@link ModelShapes#parameterParts}), so a
     * config of 2·10⁹ experts is refused before anything is sized from it.
     */
    private static void validateSizes(MoonlightConfig c) {
        int h = c.numAttentionHeads();
        width("num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim)", "q_proj/q_b_proj rows",
                (long) h * ((long) c.qkNopeHeadDim() + c.qkRopeHeadDim()),
                h + " × (" + c.qkNopeHeadDim() + " + " + c.qkRopeHeadDim() + ")");
        width("num_attention_heads × (qk_nope_head_dim + v_head_dim)", "kv_b_proj rows",
                (long) h * ((long) c.qkNopeHeadDim() + c.vHeadDim()),
                h + " × (" + c.qkNopeHeadDim() + " + " + c.vHeadDim() + ")");
        width("num_attention_heads × v_head_dim", "o_proj columns", (long) h * c.vHeadDim(), h + " × " + c.vHeadDim());
        width("kv_lora_rank + qk_rope_head_dim", "kv_a_proj_with_mqa rows", (long) c.kvLoraRank() + c.qkRopeHeadDim(),
                c.kvLoraRank() + " + " + c.qkRopeHeadDim());
        if (c.nSharedExperts() != null) {
            width("n_shared_experts × moe_intermediate_size", "shared-expert MLP width",
                    (long) c.nSharedExperts() * c.moeIntermediateSize(),
                    c.nSharedExperts() + " × " + c.moeIntermediateSize());
        }
        long tensors = ModelShapes.tensorCount(c);
        if (tensors > MoonlightConfig.MAX_TENSORS) {
            throw new IllegalArgumentException("config fields num_hidden_layers = " + c.numHiddenLayers()
                    + (c.nRoutedExperts() == null ? "" : " (" + ModelShapes.moeLayerCount(c)
                    + " MoE layers) and n_routed_experts = " + c.nRoutedExperts())
                    + " describe " + count(tensors) + " tensors, more than the limit of "
                    + String.format("%,d", MoonlightConfig.MAX_TENSORS));
        }
        Map<String, Long> parts = ModelShapes.parameterParts(c);
        long total = 0;
        Map.Entry<String, Long> largest = null;
        for (Map.Entry<String, Long> e : parts.entrySet()) {
            total = total > Long.MAX_VALUE - e.getValue() ? Long.MAX_VALUE : total + e.getValue();
            if (largest == null || e.getValue() > largest.getValue()) largest = e;
        }
        if (total > MoonlightConfig.MAX_PARAMETERS) {
            throw new IllegalArgumentException("config describes " + count(total) + " parameters, more than the limit of"
                    + String.format(" 2^40 = %,d", MoonlightConfig.MAX_PARAMETERS) + "; the largest part is "
                    + largest.getKey() + " = " + count(largest.getValue()) + " (" + sizeFields(c) + ")");
        }
    }

    private static void width(String fields, String what, long value, String values) {
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("config fields " + fields + " = " + values + " = " + value
                    + " (" + what + ") exceed the largest tensor dimension, " + Integer.MAX_VALUE);
        }
    }

    private static String count(long n) {
        return n == Long.MAX_VALUE ? "more than 2^63" : String.format("%,d", n);
    }

    private static String sizeFields(MoonlightConfig c) {
        return "vocab_size " + c.vocabSize() + ", hidden_size " + c.hiddenSize() + ", num_hidden_layers "
                + c.numHiddenLayers() + ", intermediate_size " + c.intermediateSize() + ", n_routed_experts "
                + c.nRoutedExperts() + ", moe_intermediate_size " + c.moeIntermediateSize() + ", n_shared_experts "
                + c.nSharedExperts() + ", num_attention_heads " + c.numAttentionHeads();
    }

    private static void require(boolean ok, String field, Object value, String why) {
        if (!ok) throw new IllegalArgumentException("config field '" + field + "' = " + value + " " + why);
    }

    static ObjectNode write(MoonlightConfig c) {
        TreeMap<String, JsonNode> out = new TreeMap<>(c.unused());
        JsonNodeFactory f = JsonNodeFactory.instance;
        out.put("vocab_size", f.numberNode(c.vocabSize()));
        out.put("hidden_size", f.numberNode(c.hiddenSize()));
        out.put("intermediate_size", f.numberNode(c.intermediateSize()));
        out.put("moe_intermediate_size", f.numberNode(c.moeIntermediateSize()));
        out.put("num_hidden_layers", f.numberNode(c.numHiddenLayers()));
        out.put("num_attention_heads", f.numberNode(c.numAttentionHeads()));
        out.put("num_key_value_heads", f.numberNode(c.numKeyValueHeads()));
        out.put("q_lora_rank", c.qLoraRank() == null ? f.nullNode() : f.numberNode(c.qLoraRank()));
        out.put("kv_lora_rank", f.numberNode(c.kvLoraRank()));
        out.put("qk_nope_head_dim", f.numberNode(c.qkNopeHeadDim()));
        out.put("qk_rope_head_dim", f.numberNode(c.qkRopeHeadDim()));
        out.put("v_head_dim", f.numberNode(c.vHeadDim()));
        out.put("n_routed_experts", c.nRoutedExperts() == null ? f.nullNode() : f.numberNode(c.nRoutedExperts()));
        out.put("n_shared_experts", c.nSharedExperts() == null ? f.nullNode() : f.numberNode(c.nSharedExperts()));
        out.put("num_experts_per_tok", f.numberNode(c.numExpertsPerTok()));
        out.put("n_group", f.numberNode(c.nGroup()));
        out.put("topk_group", f.numberNode(c.topkGroup()));
        out.put("topk_method", f.textNode(c.topkMethod()));
        out.put("scoring_func", f.textNode(c.scoringFunc()));
        out.put("norm_topk_prob", f.booleanNode(c.normTopkProb()));
        out.put("routed_scaling_factor", f.numberNode(c.routedScalingFactor()));
        out.put("first_k_dense_replace", f.numberNode(c.firstKDenseReplace()));
        out.put("moe_layer_freq", f.numberNode(c.moeLayerFreq()));
        out.put("rope_theta", f.numberNode(c.ropeTheta()));
        out.put("rope_scaling", f.nullNode());
        out.put("rms_norm_eps", f.numberNode(c.rmsNormEps()));
        out.put("max_position_embeddings", f.numberNode(c.maxPositionEmbeddings()));
        out.put("tie_word_embeddings", f.booleanNode(c.tieWordEmbeddings()));
        out.put("attention_bias", f.booleanNode(c.attentionBias()));
        out.put("attention_dropout", f.numberNode(c.attentionDropout()));
        out.put("hidden_act", f.textNode(c.hiddenAct()));
        out.putIfAbsent("model_type", f.textNode("deepseek_v3"));
        out.putIfAbsent("architectures", f.arrayNode().add("DeepseekV3ForCausalLM"));
        ObjectNode node = f.objectNode();
        out.forEach(node::set);
        return node;
    }
}
