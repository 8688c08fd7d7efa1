package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

class MoonlightModelTest {

    private static final Backend BE = Backends.get("cpu");

    private static long[] randomIds(long seed, int n, int vocab) {
        Random r = new Random(seed);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    @Test
    void logitsAtPositionTDoNotDependOnLaterTokens() {
        for (MoonlightConfig cfg : new MoonlightConfig[]{TestModels.small(), TestModels.smallQloraGrouped()}) {
            MoonlightModel m = new MoonlightModel(BE, cfg, ModelInit.random(cfg, BE, DType.F32, 1));
            int b = 2, s = 7, v = cfg.vocabSize();
            qt().withExamples(15).forAll(longs().all(), integers().between(0, s - 2)).checkAssert((seed, t) -> {
                long[] ids = randomIds(seed, b * s, v);
                long[] changed = ids.clone();
                Random r = new Random(~seed);
                for (int i = 0; i < b; i++) for (int j = t + 1; j < s; j++) changed[i * s + j] = r.nextInt(v);
                float[] a = BE.toFloats(m.forward(BE.fromLongs(ids, b, s)));
                float[] c = BE.toFloats(m.forward(BE.fromLongs(changed, b, s)));
                for (int i = 0; i < b; i++) {
                    for (int j = 0; j <= t; j++) {
                        for (int x = 0; x < v; x++) {
                            int at = (i * s + j) * v + x;
                            // masked keys get exp(min − max) = 0 exactly, so the earlier rows are bit-identical
                            assertThat(c[at]).as("row %d position %d", i, j).isEqualTo(a[at]);
                        }
                    }
                }
            });
        }
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreAClearError() {
        MoonlightConfig cfg = TestModels.small();
        MoonlightModel m = new MoonlightModel(BE, cfg, ModelInit.random(cfg, BE, DType.F32, 1));
        assertThatThrownBy(() -> m.forward(BE.fromLongs(new long[]{1, 2, 64}, 1, 3)))
                .hasMessageContaining("token id 64").hasMessageContaining("at [0, 2]").hasMessageContaining("[0, 64)");
        assertThatThrownBy(() -> m.forward(BE.fromLongs(new long[]{-1}, 1, 1))).hasMessageContaining("token id -1");
    }

    @Test
    void hiddenStatesFollowTheReleaseConvention() {
        MoonlightConfig cfg = TestModels.small();
        Parameters p = ModelInit.random(cfg, BE, DType.F32, 3);
        MoonlightModel m = new MoonlightModel(BE, cfg, p);
        Tensor ids = BE.fromLongs(randomIds(5, 10, cfg.vocabSize()), 2, 5);
        MoonlightModel.Output o = m.forward(ids, null, null, true);
        assertThat(o.hiddenStates()).hasSize(cfg.numHiddenLayers() + 1);
        assertThat(BE.toFloats(o.hiddenStates().get(0)))
                .containsExactly(BE.toFloats(BE.embedding(p.get("model.embed_tokens.weight"), ids)));
        assertThat(o.logits().shape()).containsExactly(2, 5, cfg.vocabSize());
        assertThat(o.logits().dtype()).isEqualTo(DType.F32);
        // explicit default positions and an all-zero extra mask give the same logits
        Tensor pos = BE.fromLongs(new long[]{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}, 2, 5);
        Tensor zero = BE.zeros(DType.F32, 2, 1, 5, 5);
        assertThat(BE.toFloats(m.forward(ids, pos, zero, false).logits())).containsExactly(BE.toFloats(o.logits()));
    }

    @Test
    void bf16WeightsRunInBf16AndStayCloseToF32() {
        MoonlightConfig cfg = TestModels.small();
        Parameters bf = ModelInit.random(cfg, BE, DType.BF16, 9);
        Parameters f32 = new Parameters();
        for (String n : bf.names()) f32.put(n, BE.cast(bf.get(n), DType.F32));      // the same (bf16) values in fp32
        MoonlightModel mb = new MoonlightModel(BE, cfg, bf), mf = new MoonlightModel(BE, cfg, f32);
        assertThat(mb.dtype()).isEqualTo(DType.BF16);
        Tensor ids = BE.fromLongs(randomIds(2, 12, cfg.vocabSize()), 2, 6);
        MoonlightModel.Output ob = mb.forward(ids, null, null, true);
        assertThat(ob.hiddenStates().get(1).dtype()).isEqualTo(DType.BF16);
        float[] lb = BE.toFloats(ob.logits()), lf = BE.toFloats(mf.forward(ids));
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < lb.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(lb[i] - lf[i]));
            maxAbs = Math.max(maxAbs, Math.abs(lf[i]));
        }
        // measured (seed 9): max |bf16 − fp32| = 2.7e-3 with max |logit| = 0.34 — bf16 keeps 8 significant bits
        // (2^-9 relative per rounding) through a few dozen rounded ops; bound 0.03 ≈ 10× the measurement. Not 0:
        // the bf16 path really rounds per op.
        assertThat(maxAbs).isGreaterThan(0.1);
        assertThat(maxDiff).isLessThan(0.03).isGreaterThan(0.0);
    }

    @Test
    void mixedDtypesAndWrongShapesAreRejectedWithEveryProblemListed() {
        MoonlightConfig cfg = TestModels.small();
        Parameters p = ModelInit.random(cfg, BE, DType.F32, 1);
        p.put("model.layers.1.self_attn.o_proj.weight", BE.zeros(DType.F32, 3, 3));
        p.put("model.norm.weight", BE.zeros(DType.F32, 7));
        p.put("model.layers.0.mlp.experts.0.up_proj.weight", BE.zeros(DType.F32, 1));
        assertThatThrownBy(() -> new MoonlightModel(BE, cfg, p))
                .hasMessageContaining("3 parameter problem(s)")
                .hasMessageContaining("model.layers.1.self_attn.o_proj.weight has shape [3, 3], expected [32, 32]")
                .hasMessageContaining("model.norm.weight has shape [7]")
                .hasMessageContaining("unexpected model.layers.0.mlp.experts.0.up_proj.weight");
        Parameters q = ModelInit.random(cfg, BE, DType.F32, 1);
        q.put("lm_head.weight", BE.cast(q.get("lm_head.weight"), DType.BF16));
        assertThatThrownBy(() -> new MoonlightModel(BE, cfg, q)).hasMessageContaining("lm_head.weight")
                .hasMessageContaining("BF16");
    }

    @Test
    void randomInitFollowsSpec410AndIsDeterministic() {
        MoonlightConfig cfg = MoonlightConfig.preset("tiny");
        Parameters a = ModelInit.random(cfg, BE, DType.F32, 42), b = ModelInit.random(cfg, BE, DType.F32, 42);
        Parameters c = ModelInit.random(cfg, BE, DType.F32, 43);
        assertThat(a.names()).containsExactlyElementsOf(ModelShapes.expected(cfg).keySet());
        assertThat(a.numel()).isEqualTo(ParameterCounts.of(cfg).total());
        String emb = "model.embed_tokens.weight";
        assertThat(BE.toFloats(a.get(emb))).containsExactly(BE.toFloats(b.get(emb)));
        assertThat(BE.toFloats(a.get(emb))).isNotEqualTo(BE.toFloats(c.get(emb)));
        assertThat(BE.toFloats(a.get("model.layers.2.input_layernorm.weight"))).containsOnly(1f);
        assertThat(BE.toFloats(a.get("model.layers.1.self_attn.kv_a_layernorm.weight"))).containsOnly(1f);
        assertThat(BE.toFloats(a.get("model.layers.1.mlp.gate.e_score_correction_bias"))).containsOnly(0f);
        float[] e = BE.toFloats(a.get(emb));                                  // 65,536 draws of N(0, 0.02²)
        double sum = 0, sq = 0;
        for (float v : e) {
            sum += v;
            sq += (double) v * v;
        }
        double mean = sum / e.length, std = Math.sqrt(sq / e.length - mean * mean);
        // standard errors: mean 0.02/√65536 = 7.8e-5, std 0.02/√(2·65536) = 5.5e-5; bounds are > 5 of them
        assertThat(mean).isBetween(-4e-4, 4e-4);
        assertThat(std).isBetween(0.0197, 0.0203);
    }
}
