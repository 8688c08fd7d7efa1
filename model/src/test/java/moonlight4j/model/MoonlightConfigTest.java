package moonlight4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MoonlightConfigTest {

    private static final ObjectMapper M = new ObjectMapper();

    private static ObjectNode presetJson(String name) throws Exception {
        try (InputStream in = MoonlightConfig.class.getResourceAsStream("presets/" + name + ".json")) {
            return (ObjectNode) M.readTree(in);
        }
    }

    @Test
    void moonlightPresetIsTheReleasedConfig() {
        MoonlightConfig c = MoonlightConfig.preset("moonlight-16b-a3b");
        assertThat(c.hiddenSize()).isEqualTo(2048);
        assertThat(c.numHiddenLayers()).isEqualTo(27);
        assertThat(c.qLoraRank()).isNull();
        assertThat(c.qHeadDim()).isEqualTo(192);
        assertThat(c.softmaxScale()).isEqualTo(0.07216878364870322);   // docs/model.md#attention-scores
        assertThat(c.isMoeLayer(0)).isFalse();
        for (int i = 1; i < 27; i++) assertThat(c.isMoeLayer(i)).isTrue();
        assertThat(c.sharedIntermediateSize()).isEqualTo(2816);
        assertThat(c.unused()).containsKeys("aux_loss_alpha", "seq_aux", "torch_dtype", "auto_map", "bos_token_id");
        assertThat(c.unknown()).isEmpty();
    }

    /** docs/model.md#parameter-counts: computed from the config through ModelShapes, never typed in. */
    @Test
    void moonlightParameterCountsMatchThePaper() {
        ParameterCounts n = ParameterCounts.of(MoonlightConfig.preset("moonlight-16b-a3b"));
        assertThat(n.nonEmbedding()).isEqualTo(15_289_021_568L);
        assertThat(n.activatedNonEmbedding()).isEqualTo(2_243_687_552L);
        assertThat(n.embedding()).isEqualTo(671_088_640L);
        assertThat(ModelShapes.expected(MoonlightConfig.preset("moonlight-16b-a3b"))).hasSize(5317); // docs/model.md#tensor-names-and-shapes
    }

    @Test
    void tinyPresetIsMoonlightShaped() {
        MoonlightConfig c = MoonlightConfig.preset("tiny");
        assertThat(c.isMoeLayer(0)).isFalse();
        assertThat(c.isMoeLayer(1)).isTrue();
        assertThat(c.qLoraRank()).isNull();
        assertThat(c.topkMethod()).isEqualTo("noaux_tc");
        assertThat(c.nSharedExperts()).isEqualTo(1);
        ParameterCounts n = ParameterCounts.of(c);
        assertThat(n.activatedNonEmbedding()).isLessThan(n.nonEmbedding());
    }

    @Test
    void toJsonIsTheHfFieldSetAndRoundTrips() throws Exception {
        for (String p : MoonlightConfig.PRESETS) {
            MoonlightConfig c = MoonlightConfig.preset(p);
            ObjectNode json = c.toJson();
            List<String> keys = new ArrayList<>();
            json.fieldNames().forEachRemaining(keys::add);
            List<String> original = new ArrayList<>();
            presetJson(p).fieldNames().forEachRemaining(original::add);
            assertThat(keys).containsAll(original).contains("rope_scaling", "num_key_value_heads").isSorted();
            for (String k : original) assertThat(json.get(k)).as(p + " " + k).isEqualTo(presetJson(p).get(k));
            assertThat(MoonlightConfig.fromJson(json, "round trip")).isEqualTo(c);
        }
    }

    @Test
    void missingFieldsTakeDeepseekV3Defaults() {
        MoonlightConfig c = MoonlightConfig.fromJson(M.createObjectNode(), "empty");
        assertThat(c.hiddenSize()).isEqualTo(7168);
        assertThat(c.qLoraRank()).isEqualTo(1536);
        assertThat(c.nGroup()).isEqualTo(8);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.firstKDenseReplace()).isEqualTo(3);
    }

    private static MoonlightConfig with(String field, Object value) throws Exception {
        ObjectNode j = presetJson("tiny");
        j.set(field, M.valueToTree(value));
        return MoonlightConfig.fromJson(j, "test.json");
    }

    @Test
    void unimplementedValuesAreRejectedByName() throws Exception {
        ObjectNode yarn = M.createObjectNode().put("type", "yarn").put("factor", 40);
        assertThatThrownBy(() -> with("rope_scaling", yarn)).hasMessageContaining("'rope_scaling'")
                .hasMessageContaining("test.json");
        assertThatThrownBy(() -> with("topk_method", "greedy")).hasMessageContaining("'topk_method'");
        assertThatThrownBy(() -> with("scoring_func", "softmax")).hasMessageContaining("'scoring_func'");
        assertThatThrownBy(() -> with("attention_bias", true)).hasMessageContaining("'attention_bias'");
        assertThatThrownBy(() -> with("hidden_act", "gelu")).hasMessageContaining("'hidden_act'");
        assertThatThrownBy(() -> with("tie_word_embeddings", true)).hasMessageContaining("'tie_word_embeddings'");
        assertThatThrownBy(() -> with("attention_dropout", 0.1)).hasMessageContaining("'attention_dropout'");
        assertThatThrownBy(() -> with("n_group", 3)).hasMessageContaining("'n_group'");
        assertThatThrownBy(() -> with("qk_rope_head_dim", 15)).hasMessageContaining("'qk_rope_head_dim'");
    }

    @Test
    void wrongTypesAreErrorsNamingTheField() {
        assertThatThrownBy(() -> with("hidden_size", "128")).hasMessageContaining("'hidden_size'")
                .hasMessageContaining("an integer");
        assertThatThrownBy(() -> with("rope_theta", "big")).hasMessageContaining("'rope_theta'")
                .hasMessageContaining("a number");
        assertThatThrownBy(() -> with("norm_topk_prob", 1)).hasMessageContaining("'norm_topk_prob'");
        assertThatThrownBy(() -> with("topk_method", 3)).hasMessageContaining("'topk_method'");
        assertThatThrownBy(() -> MoonlightConfig.fromJson(M.readTree("[1]"), "x.json"))
                .hasMessageContaining("x.json").hasMessageContaining("JSON object");
    }

    @Test
    void unknownFieldsAreReportedAndUnusedOnesKept() throws Exception {
        MoonlightConfig c = with("sliding_window", 4096);
        assertThat(c.unknown()).containsExactly("sliding_window");
        MoonlightConfig d = with("aux_loss_alpha", 0.5);
        assertThat(d.unused().get("aux_loss_alpha").doubleValue()).isEqualTo(0.5);
        assertThat(d.toJson().get("aux_loss_alpha").doubleValue()).isEqualTo(0.5);
        assertThat(d.toJson().has("sliding_window")).isFalse();
        JsonNode nullableDense = with("n_routed_experts", null).toJson().get("n_routed_experts");
        assertThat(nullableDense.isNull()).isTrue();
    }

    @Test
    void denseConfigHasNoMoeLayers() throws Exception {
        MoonlightConfig c = with("n_routed_experts", null);
        for (int i = 0; i < c.numHiddenLayers(); i++) assertThat(c.isMoeLayer(i)).isFalse();
        assertThat(ParameterCounts.of(c).activatedNonEmbedding()).isEqualTo(ParameterCounts.of(c).nonEmbedding());
    }

    @Test
    void unknownPresetListsTheKnownOnes() {
        assertThatThrownBy(() -> MoonlightConfig.preset("huge")).hasMessageContaining("tiny")
                .hasMessageContaining("moonlight-16b-a3b");
    }

    // ------------------------------------------------------------------ bounds, exact sizes, ranges

    @Test
    void sizesComputedWithoutTheMapEqualTheMap() throws Exception {
        List<MoonlightConfig> configs = new ArrayList<>(List.of(MoonlightConfig.preset("tiny"),
                MoonlightConfig.preset("moonlight-16b-a3b")));
        java.util.Random r = new java.util.Random(15);
        while (configs.size() < 60) {
            ObjectNode j = presetJson("tiny");
            int groups = 1 + r.nextInt(3), experts = groups * (2 + r.nextInt(4));
            j.put("num_hidden_layers", 1 + r.nextInt(9)).put("first_k_dense_replace", r.nextInt(4))
                    .put("moe_layer_freq", 1 + r.nextInt(3)).put("n_routed_experts", experts).put("n_group", groups)
                    .put("topk_group", 1).put("num_experts_per_tok", 1).put("hidden_size", 8 + r.nextInt(9))
                    .put("vocab_size", 1 + r.nextInt(50)).put("num_attention_heads", 1 + r.nextInt(4));
            if (r.nextBoolean()) j.put("q_lora_rank", 1 + r.nextInt(9));
            switch (r.nextInt(3)) {
                case 0 -> j.putNull("n_shared_experts");
                case 1 -> j.put("n_shared_experts", 0);
                default -> j.put("n_shared_experts", 1 + r.nextInt(3));
            }
            if (r.nextInt(5) == 0) j.putNull("n_routed_experts");
            configs.add(MoonlightConfig.fromJson(j, "random config"));
        }
        for (MoonlightConfig c : configs) {
            var expected = ModelShapes.expected(c);
            assertThat(ModelShapes.tensorCount(c)).as("tensors of %s", c).isEqualTo(expected.size());
            long moe = 0;
            for (int i = 0; i < c.numHiddenLayers(); i++) if (c.isMoeLayer(i)) moe++;
            assertThat(ModelShapes.moeLayerCount(c)).isEqualTo(moe);
            long sum = ModelShapes.parameterParts(c).values().stream().mapToLong(Long::longValue).sum();
            assertThat(sum).as("parameters of %s", c).isEqualTo(ParameterCounts.of(c).total());
        }
    }

    @Test
    void derivedWidthsAreExactAndNameTheirFields() {
        // 33554433 × 128 = 2^32 + 128 wrapped to 128 in int arithmetic: a "valid" model of shared width 128
        assertThatThrownBy(() -> with("n_shared_experts", 33_554_433)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("test.json").hasMessageContaining("n_shared_experts × moe_intermediate_size")
                .hasMessageContaining("4294967424");
        // 100000000 × (32 + 16) wrapped to a negative dimension
        assertThatThrownBy(() -> with("num_attention_heads", 100_000_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim)")
                .hasMessageContaining("4800000000");
        assertThatThrownBy(() -> with("kv_lora_rank", Integer.MAX_VALUE))
                .hasMessageContaining("kv_lora_rank + qk_rope_head_dim");
    }

    @Test
    void tensorAndParameterCountsAreCappedBeforeAnythingIsSized() throws Exception {
        ObjectNode moonlight = presetJson("moonlight-16b-a3b");
        moonlight.put("n_routed_experts", 2_000_000_000);
        assertThatThrownBy(() -> MoonlightConfig.fromJson(moonlight, "big.json"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("big.json")
                .hasMessageContaining("n_routed_experts = 2000000000").hasMessageContaining("more than the limit of 262,144");
        assertThatThrownBy(() -> with("num_hidden_layers", 100_000_000))
                .hasMessageContaining("num_hidden_layers = 100000000").hasMessageContaining("tensors");
        // few tensors, too many parameters: the message names the largest part and its fields
        ObjectNode wide = presetJson("tiny");
        wide.put("vocab_size", 1 << 30).put("hidden_size", 1 << 12);
        assertThatThrownBy(() -> MoonlightConfig.fromJson(wide, "wide.json"))
                .hasMessageContaining("more than the limit of 2^40").hasMessageContaining("the largest part is "
                        + "embed_tokens and lm_head: 2 × vocab_size × hidden_size = 8,796,093,022,208 (vocab_size 1073741824");
        ObjectNode overflow = presetJson("tiny");
        overflow.put("vocab_size", Integer.MAX_VALUE).put("hidden_size", Integer.MAX_VALUE)
                .put("intermediate_size", Integer.MAX_VALUE).put("num_hidden_layers", 1);
        assertThatThrownBy(() -> MoonlightConfig.fromJson(overflow, "overflow.json"))
                .hasMessageContaining("more than 2^63 parameters");
        // the largest released shape stays accepted: DeepSeek-V3-sized, 671 B parameters, 45 k tensors
        MoonlightConfig v3 = MoonlightConfig.fromJson(M.readTree("{\"q_lora_rank\": 1536}"), "defaults");
        assertThat(ModelShapes.tensorCount(v3)).isLessThan(MoonlightConfig.MAX_TENSORS);
    }

    @Test
    void nonFiniteAndOutOfRangeValuesAreRejectedByName() throws Exception {
        ObjectNode j = presetJson("tiny");
        String text = M.writeValueAsString(j);
        for (String[] c : new String[][]{
                {"routed_scaling_factor", "1e400"}, {"rms_norm_eps", "1e300"}, {"rms_norm_eps", "0"},
                {"rope_theta", "1e39"}, {"rope_theta", "-1"}, {"max_position_embeddings", "-5"},
                {"max_position_embeddings", "0"}, {"num_key_value_heads", "0"}, {"initializer_range", "1e400"},
                {"initializer_range", "-0.5"}, {"initializer_range", "\"0.02\""}, {"attention_dropout", "1e400"}}) {
            String mutated = text.replaceFirst("\"" + c[0] + "\":[^,}]*", "\"" + c[0] + "\":" + c[1]);
            assertThat(mutated).as(c[0]).contains(c[1]);
            assertThatThrownBy(() -> MoonlightConfig.fromJson(M.readTree(mutated), "range.json"))
                    .as("%s = %s", c[0], c[1]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("range.json").hasMessageContaining("'" + c[0] + "'");
        }
    }

    @Test
    void readIsStrictUtf8AndStrictJson(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        String text = M.writeValueAsString(presetJson("tiny"));
        java.nio.file.Path ok = java.nio.file.Files.writeString(tmp.resolve("ok.json"), text);
        assertThat(MoonlightConfig.read(ok)).isEqualTo(MoonlightConfig.preset("tiny"));
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] bom = new byte[utf8.length + 3];
        bom[0] = (byte) 0xEF;
        bom[1] = (byte) 0xBB;
        bom[2] = (byte) 0xBF;
        System.arraycopy(utf8, 0, bom, 3, utf8.length);
        String[][] cases = {
                {"utf16.json", null, "UTF-16"}, {"utf16be.json", null, "UTF-16"}, {"bom.json", null, "byte-order mark"},
                {"trailing.json", text + " xyz", "Unrecognized token 'xyz'"},
                {"two.json", text + " {}", "content after the JSON value"},
                {"twice.json", text.replace("{", "{\"vocab_size\": 7, "), "Duplicate field 'vocab_size'"},
                {"comment.json", "/* c */" + text, "not valid JSON"}};
        for (String[] c : cases) {
            java.nio.file.Path f = tmp.resolve(c[0]);
            switch (c[0]) {
                case "utf16.json" -> java.nio.file.Files.write(f, text.getBytes(java.nio.charset.StandardCharsets.UTF_16LE));
                case "utf16be.json" -> java.nio.file.Files.write(f, text.getBytes(java.nio.charset.StandardCharsets.UTF_16));
                case "bom.json" -> java.nio.file.Files.write(f, bom);
                default -> java.nio.file.Files.writeString(f, c[1]);
            }
            assertThatThrownBy(() -> MoonlightConfig.read(f)).as(c[0]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining(c[2]);
        }
    }
}
