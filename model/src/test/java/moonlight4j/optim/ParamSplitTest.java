package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/muon.md#parameter-split: Muon iff ndim ≥ 2 and the name has neither "embed_tokens" nor "lm_head". */
class ParamSplitTest {

    @Test
    void releaseRule() {
        ParamSplit s = ParamSplit.RELEASE;
        assertThat(s.useMuon("model.layers.0.self_attn.q_proj.weight", new int[]{32, 24})).isTrue();
        assertThat(s.useMuon("model.layers.0.self_attn.kv_a_proj_with_mqa.weight", new int[]{20, 24})).isTrue();
        assertThat(s.useMuon("model.layers.1.mlp.experts.17.down_proj.weight", new int[]{24, 48})).isTrue();
        assertThat(s.useMuon("model.layers.1.mlp.gate.weight", new int[]{8, 24})).as("router weight").isTrue();
        assertThat(s.useMuon("model.embed_tokens.weight", new int[]{40, 24})).isFalse();
        assertThat(s.useMuon("lm_head.weight", new int[]{40, 24})).isFalse();
        assertThat(s.useMuon("model.norm.weight", new int[]{24})).isFalse();
        assertThat(s.useMuon("model.layers.1.mlp.gate.e_score_correction_bias", new int[]{8})).isFalse();
        assertThat(s.useMuon("conv.weight", new int[]{4, 3, 3, 3})).as("ndim > 2 counts too").isTrue();
        assertThat(s.useMuon("scalar", new int[]{})).isFalse();
    }

    @Test
    void describeCountsBothSides() {
        Backend be = Backends.get("cpu");
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("model.embed_tokens.weight", be.zeros(DType.F32, 40, 24));
        p.put("model.layers.0.mlp.up_proj.weight", be.zeros(DType.F32, 48, 24));
        p.put("model.norm.weight", be.zeros(DType.F32, 24));
        assertThat(ParamSplit.RELEASE.describe(p))
                .isEqualTo("Muon: 1 tensors, 1,152 parameters; AdamW: 2 tensors, 984 parameters");
        p.values().forEach(Tensor::close);
    }
}
