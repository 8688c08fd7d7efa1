package moonlight4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.io.SafetensorsException;
import moonlight4j.io.StrictJson;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The model hyper-parameters, read from a Hugging Face {@code config.json} with the field names and defaults of
 * {@code DeepseekV3Config} (docs/model.md#config). Only the fields Moonlight's forward pass uses are components; fields
 * that do not change the computation ({@code aux_loss_alpha}, {@code torch_dtype}, token ids, ...) are kept verbatim in
 * {@link #unused()} so {@link #toJson()} writes them back; fields this code does not know are listed in
 * {@link #unknown()} (warnings for {@code moonlight inspect}). A field whose value would change the computation in
 * a way not implemented here ({@code rope_scaling}, {@code topk_method} other than {@code noaux_tc}, ...) is
 * rejected by name — never ignored. See {@link ConfigJson} for the parsing rules.
 *
 * @param vocabSize            V, rows of {@code embed_tokens} and {@code lm_head}
 * @param hiddenSize           C, the residual stream width
 * @param intermediateSize     width of the dense SwiGLU MLP (the first {@code first_k_dense_replace} layers)
 * @param moeIntermediateSize  width of one routed expert; the shared block is {@code n_shared_experts} times this
 * @param numHiddenLayers      L, decoder layers
 * @param numAttentionHeads    H, attention heads
 * @param numKeyValueHeads     stored by DeepseekV3Config; MLA does not use it (kept for the round trip)
 * @param qLoraRank            null → plain {@code q_proj}; set → {@code q_a_proj → q_a_layernorm → q_b_proj}
 * @param kvLoraRank           width of the compressed latent c_kv
 * @param qkNopeHeadDim        per-head q/k dims without RoPE
 * @param qkRopeHeadDim        per-head q/k dims with RoPE (k_pe is one head shared by all heads)
 * @param vHeadDim             per-head value dims
 * @param nRoutedExperts       E, routed experts; null → every layer dense
 * @param nSharedExperts       shared experts (one MLP of width n·moe_intermediate_size); null or 0 → none
 * @param numExpertsPerTok     k, experts chosen per token
 * @param nGroup               expert groups for group-limited routing
 * @param topkGroup            groups kept per token
 * @param topkMethod           routing method; only {@code noaux_tc} is implemented
 * @param scoringFunc          router scoring; only {@code sigmoid} is implemented
 * @param normTopkProb         divide the k weights by their sum (+1e-20) when k &gt; 1
 * @param routedScalingFactor  multiplies the routing weights (2.446 in Moonlight)
 * @param firstKDenseReplace   layers {@code i < first_k_dense_replace} are dense
 * @param moeLayerFreq         MoE iff {@code i % moe_layer_freq == 0} (and past the dense prefix)
 * @param ropeTheta            θ of RoPE
 * @param rmsNormEps           eps of the input/post-attention/final norms (not kv_a/q_a_layernorm: 1e-6)
 * @param maxPositionEmbeddings size of the release's RoPE cache (not a limit; kept for the round trip)
 * @param tieWordEmbeddings    must be false (untied {@code lm_head})
 * @param attentionBias        must be false
 * @param attentionDropout     must be 0
 * @param hiddenAct            must be {@code silu}
 * @param unused               accepted fields that do not change the forward pass, verbatim, sorted by name
 * @param unknown              names of fields this code does not know (ignored, reported)
 */
public record MoonlightConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int moeIntermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        Integer qLoraRank,
        int kvLoraRank,
        int qkNopeHeadDim,
        int qkRopeHeadDim,
        int vHeadDim,
        Integer nRoutedExperts,
        Integer nSharedExperts,
        int numExpertsPerTok,
        int nGroup,
        int topkGroup,
        String topkMethod,
        String scoringFunc,
        boolean normTopkProb,
        double routedScalingFactor,
        int firstKDenseReplace,
        int moeLayerFreq,
        double ropeTheta,
        double rmsNormEps,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        double attentionDropout,
        String hiddenAct,
        Map<String, JsonNode> unused,
        List<String> unknown) {

    /** eps of {@code kv_a_layernorm} and {@code q_a_layernorm}: built without an eps argument (docs/model.md#rmsnorm). */
    public static final double LATENT_NORM_EPS = 1e-6;

    /**
     * Most parameters a config may describe: 2⁴⁰ ≈ 1.1 T (DeepSeek-V3 has 671 B). Checked, with exact arithmetic,
     * before anything is sized from the config, so a config cannot make {@code inspect} or a load allocate without
     * bound.
     */
    public static final long MAX_PARAMETERS = 1L << 40;

    /**
     * Most tensors a config may describe: 2¹⁸ = 262,144 (Moonlight has 5,317, DeepSeek-V3 about 45 k). Bounds the
     * name → shape map of {@link ModelShapes#expected} and every per-layer or per-expert loop over the config.
     */
    public static final long MAX_TENSORS = 1L << 18;

    /** Names of the built-in presets. */
    public static final List<String> PRESETS = List.of("moonlight-16b-a3b", "small", "tiny");

    public MoonlightConfig {
        unused = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(unused));
        unknown = List.copyOf(unknown);
    }

    /**
     * This config, after checking that every value is meaningful and implemented (an error names the HF field).
     * {@link #fromJson}, {@link #read}, {@link #preset} and {@code with*} always validate; call it after using the
     * canonical constructor directly.
     */
    public MoonlightConfig validated() {
        ConfigJson.validate(this);
        return this;
    }

    // ------------------------------------------------------------------ reading and writing

    /** Parses a config.json-style object; {@code source} names it in error messages. */
    public static MoonlightConfig fromJson(JsonNode json, String source) {
        return ConfigJson.parse(json, source);
    }

    /**
     * Reads {@code config.json} (or any file with that content): strict UTF-8 and strict JSON ({@link StrictJson}),
     * an {@link IllegalArgumentException} naming the file otherwise.
     */
    public static MoonlightConfig read(Path file) {
        try {
            return ConfigJson.parse(StrictJson.readObject(file), file.toString());
        } catch (SafetensorsException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * A built-in preset: {@code moonlight-16b-a3b} (the released config, docs/model.md#config), {@code small} (hidden 1024, 16
     * routed experts top-4: a width a CPU trains at, used by {@code bench train}) or {@code tiny} (hidden 128).
     */
    public static MoonlightConfig preset(String name) {
        if (!PRESETS.contains(name)) {
            throw new IllegalArgumentException("unknown preset '" + name + "', expected one of " + PRESETS);
        }
        String resource = "presets/" + name + ".json";
        try (InputStream in = MoonlightConfig.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("preset resource missing: " + resource);
            return ConfigJson.parse(ConfigJson.MAPPER.readTree(in), "preset " + name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read preset " + name, e);
        }
    }

    /** The HF field set: every component under its HF name plus the accepted-but-unused fields, keys sorted. */
    public ObjectNode toJson() {
        return ConfigJson.write(this);
    }

    // ------------------------------------------------------------------ derived dimensions (docs/model.md#parameter-counts)

    /** Per-head q/k dim: qk_nope + qk_rope (192 in Moonlight). */
    public int qHeadDim() {
        return Math.addExact(qkNopeHeadDim, qkRopeHeadDim);
    }

    /** softmax scale {@code (qk_nope + qk_rope)^−0.5}; no YaRN mscale since rope_scaling is null (docs/model.md#attention-scores). */
    public double softmaxScale() {
        return Math.pow(qHeadDim(), -0.5);
    }

    /** True when layer {@code i} is MoE (docs/model.md#forward-pass). */
    public boolean isMoeLayer(int i) {
        return nRoutedExperts != null && i >= firstKDenseReplace && i % moeLayerFreq == 0;
    }

    /** Width of the shared-expert MLP, {@code n_shared_experts · moe_intermediate_size}; 0 when none. */
    public int sharedIntermediateSize() {
        return nSharedExperts == null ? 0 : Math.multiplyExact(nSharedExperts, moeIntermediateSize);
    }

    /** A copy with other layer counts, handy for tests (keeps every other field). */
    public MoonlightConfig withLayers(int layers) {
        return new MoonlightConfig(vocabSize, hiddenSize, intermediateSize, moeIntermediateSize, layers,
                numAttentionHeads, numKeyValueHeads, qLoraRank, kvLoraRank, qkNopeHeadDim, qkRopeHeadDim, vHeadDim,
                nRoutedExperts, nSharedExperts, numExpertsPerTok, nGroup, topkGroup, topkMethod, scoringFunc,
                normTopkProb, routedScalingFactor, firstKDenseReplace, moeLayerFreq, ropeTheta, rmsNormEps,
                maxPositionEmbeddings, tieWordEmbeddings, attentionBias, attentionDropout, hiddenAct, unused, unknown)
                .validated();
    }
}
