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
}
