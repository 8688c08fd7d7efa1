package moonlight4j.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The key rules of golden-data/FORMAT.md §4, on keys as the golden files spell them. */
class ToleranceTableTest {

    private static ToleranceTable table(String json) throws Exception {
        return new ToleranceTable(new ObjectMapper().readTree(json), "test.safetensors");
    }

    @Test
    void muonStepKeys() throws Exception {
        ToleranceTable t = table("""
                {"out.fp32ns.stepK.param": {"abs": 4e-06, "rel": 1e-05},
                 "out.stepK.param (release, bf16 NS)": {"abs": 0.006, "rel": 0.0},
                 "state.stepK.*": {"abs": 5e-07, "rel": 1e-06}}""");
        assertThat(t.forTensor("out.fp32ns.step3.param.model.norm.weight", false).abs()).isEqualTo(4e-6);
        assertThat(t.forTensor("out.step12.param.lm_head.weight", false).abs()).isEqualTo(0.006);
        assertThat(t.forTensor("state.step1.momentum_buffer.model.layers.0.mlp.up_proj.weight", false).abs()).isEqualTo(5e-7);
        assertThat(t.covering("out.stepX.param.w")).isEmpty();
        assertThat(t.covering("out.step3.parameter")).as("a prefix must be followed by '.'").isEmpty();
        assertThat(t.covering("out.step.param.w")).as("stepK needs a number").isEmpty();
        // uncovered float → the loosest tolerance of the case
        assertThat(t.forTensor("out.something", false).abs()).isEqualTo(0.006);
    }

    @Test
    void exactStarSortedAndIntegers() throws Exception {
        ToleranceTable t = table("""
                {"out.topk_idx": {"abs": 0, "rel": null}, "out.topk_weight": {"abs": 2e-06, "rel": 1e-05},
                 "out.grad.*": {"abs": 2e-06, "rel": 0.0001}, "out.loss": {"abs": 8e-06, "rel": 1e-05}}""");
        assertThat(t.forTensor("out.topk_weight_sorted", false).abs()).isEqualTo(2e-6);
        assertThat(t.forTensor("out.topk_idx_sorted", true).abs()).isZero();
        assertThat(t.forTensor("out.grad.model.layers.0.mlp.gate.weight", false).rel()).isEqualTo(1e-4);
        assertThat(t.forTensor("out.loss", false).abs()).isEqualTo(8e-6);
        assertThat(t.forTensor("out.logits", false).abs()).as("loosest: abs 8e-6").isEqualTo(8e-6);
        assertThat(t.covering("out.lossy")).isEmpty();
        assertThat(t.covering("out.topk_idx").orElseThrow().rel()).as("null rel = 0").isZero();
    }

    @Test
    void anExactKeyBeatsAPrefixKey() throws Exception {
        ToleranceTable t = table("""
                {"out.hidden_states.*": {"abs": 3e-05, "rel": 1e-05}, "out.hidden_states.3": {"abs": 1e-06, "rel": 0}}""");
        assertThat(t.forTensor("out.hidden_states.3", false).abs()).isEqualTo(1e-6);
        assertThat(t.forTensor("out.hidden_states.2", false).abs()).isEqualTo(3e-5);
    }

    @Test
    void toleranceArithmetic() {
        Tolerance t = new Tolerance(1e-3, 1e-2, "k");
        assertThat(t.allows(1.011, 1.0)).isTrue();     // 0.011 ≤ 0.001 + 0.01
        assertThat(t.allows(1.012, 1.0)).isFalse();
        assertThat(t.allows(Double.NaN, 1.0)).isFalse();
        assertThat(t.allows(Double.NaN, Double.NaN)).isTrue();
    }

    @Test
    void gapRatioEntriesAndTheirReferences() throws Exception {
        ToleranceTable t = table("""
                {"out.final.param.*": {"abs": 0.05, "rel": 0.0, "gap_ref": "out.fp32ns.final.param.*", "max_gap_ratio": 0.75},
                 "out.fp32ns.final.param.*": {"abs": 0.0005, "rel": 1e-05},
                 "out.logits": {"abs": 0.08, "rel": 0.0, "gap_ref": "ref.fp32.logits", "max_gap_ratio": 0.7},
                 "out.layer1.topk_weight": {"abs": 0.004, "rel": 0.0, "gap_ref": "ref.fp32.layer1.topk_weight_sorted",
                                            "max_gap_ratio": 0.25},
                 "out.stepK.param": {"abs": 0.1, "rel": 0.0, "gap_ref": "ref.stepK.param", "max_gap_ratio": 0.5}}""");
        Tolerance p = t.forTensor("out.final.param.model.norm.weight", false);
        assertThat(p.hasGapCheck()).isTrue();
        assertThat(p.maxGapRatio()).isEqualTo(0.75);
        assertThat(t.reference("out.final.param.model.norm.weight")).contains("out.fp32ns.final.param.model.norm.weight");
        assertThat(t.reference("out.logits")).contains("ref.fp32.logits");
        assertThat(t.reference("out.layer1.topk_weight")).contains("ref.fp32.layer1.topk_weight_sorted");
        assertThat(t.reference("out.layer1.topk_weight_sorted")).as("a _sorted tensor falls back to its key")
                .contains("ref.fp32.layer1.topk_weight_sorted");
        assertThat(t.reference("out.step2.param.w")).as("a prefix key: the rest of the name follows gap_ref")
                .contains("ref.step2.param.w");
        assertThat(t.reference("out.fp32ns.final.param.model.norm.weight")).isEmpty();
        assertThat(t.forTensor("out.fp32ns.final.param.x", false).hasGapCheck()).isFalse();
        assertThat(t.loosest().orElseThrow().hasGapCheck()).as("the loosest fallback is elementwise only").isFalse();
    }

    @Test
    void malformedGapRatioEntriesNameTheKey() {
        assertThatThrownBy(() -> table("{\"out.X\": {\"abs\": 1, \"max_gap_ratio\": 0.5}}"))
                .hasMessageContaining("out.X").hasMessageContaining("gap_ref");
        assertThatThrownBy(() -> table("{\"out.X\": {\"abs\": 1, \"gap_ref\": \"ref.X\", \"max_gap_ratio\": \"big\"}}"))
                .hasMessageContaining("out.X");
        assertThatThrownBy(() -> table("{\"out.X.*\": {\"abs\": 1, \"gap_ref\": \"ref.X\", \"max_gap_ratio\": 0.5}}"))
                .hasMessageContaining("out.X.*").hasMessageContaining(".*");
    }

    @Test
    void malformedTolerancesNameTheKey() {
        assertThatThrownBy(() -> table("{\"out.X\": {\"rel\": 0}}")).hasMessageContaining("out.X").hasMessageContaining("abs");
        assertThatThrownBy(() -> table("{\"out.X\": {\"abs\": \"big\"}}")).hasMessageContaining("out.X");
        assertThatThrownBy(() -> table("[1]")).hasMessageContaining("tolerance");
    }
}
