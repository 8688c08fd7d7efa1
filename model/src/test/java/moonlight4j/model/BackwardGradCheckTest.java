package moonlight4j.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Every backward against fp64 central finite differences ({@link GradCheck}: tolerance 1e-6 relative to
 * max(1, |g|), the error budget is written there), as properties over small random shapes on F64 tensors.
 */
class BackwardGradCheckTest {

    private static final Backend BE = Backends.get("cpu");
    private static final int SAMPLES = 4;

    @org.junit.jupiter.api.BeforeEach
    void reset() {
        GradCheck.maxError = 0;
    }

    @org.junit.jupiter.api.AfterEach
    void report(org.junit.jupiter.api.TestInfo info) {
        System.out.println("grad check " + info.getDisplayName() + ": largest FD error " + GradCheck.maxError);
    }

    /** A config with the given sizes (tiny preset otherwise), weights drawn with std 0.3 so gradients are O(1). */
    static MoonlightConfig config(int hidden, int heads, int dn, int dr, int dv, int r, Integer rq, int experts, int k,
                                  int nGroup, int topkGroup, int layers) {
        ObjectNode j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", hidden).put("intermediate_size", hidden + 3).put("moe_intermediate_size", 5)
                .put("num_hidden_layers", layers).put("num_attention_heads", heads).put("num_key_value_heads", heads)
                .put("kv_lora_rank", r).put("qk_nope_head_dim", dn).put("qk_rope_head_dim", dr).put("v_head_dim", dv)
                .put("n_routed_experts", experts).put("num_experts_per_tok", k).put("n_group", nGroup)
                .put("topk_group", topkGroup).put("vocab_size", 11).put("initializer_range", 0.3)
                .put("first_k_dense_replace", 1).put("n_shared_experts", 1);
        if (rq == null) j.putNull("q_lora_rank");
        else j.put("q_lora_rank", rq);
        return MoonlightConfig.fromJson(j, "grad-check config");
    }

    private static Parameters subset(Parameters all, String prefix) {
        Parameters p = new Parameters();
        for (String n : all.names()) {
            if (n.startsWith(prefix)) p.put(n, all.get(n));
        }
        return p;
    }

    private static void assertNoMismatch(List<String> bad) {
        assertThat(bad).as("finite-difference mismatches").isEmpty();
    }

    @Test
    void rmsNorm() {
        qt().withExamples(15).forAll(integers().between(1, 4), integers().between(1, 9), booleans().all(), longs().all())
                .checkAssert((rows, c, latent, seed) -> {
                    Random r = new Random(seed);
                    Parameters p = new Parameters();
                    p.put("n.weight", BE.fromDoubles(GradCheck.gaussian(r, c, 1.0), c));
                    RmsNorm norm = new RmsNorm(BE, p, "n.", c, latent ? 1e-6 : 1e-5);
                    norm.keepForBackward(true);
                    assertNoMismatch(GradCheck.check(BE, p, GradCheck.gaussian(r, rows * c, 1.0), new int[]{rows, c},
                            norm::forward, norm::backward, () -> true, seed, SAMPLES));
                });
    }

    /** The falsified draw of {@link #rmsNorm} (rows 1, hidden 1, eps 1e-5, seed 126): |x| ≪ 1 in a row of one. */
    @Test
    void rmsNormOfOneTinyElement() {
        Random r = new Random(126);
        Parameters p = new Parameters();
        p.put("n.weight", BE.fromDoubles(GradCheck.gaussian(r, 1, 1.0), 1));
        RmsNorm norm = new RmsNorm(BE, p, "n.", 1, 1e-5);
        norm.keepForBackward(true);
        assertNoMismatch(GradCheck.check(BE, p, GradCheck.gaussian(r, 1, 1.0), new int[]{1, 1}, norm::forward,
                norm::backward, () -> true, 126, SAMPLES));
    }

    @Test
    void rope() {
        qt().withExamples(15).forAll(integers().between(1, 3), integers().between(1, 5), integers().between(1, 4),
                longs().all()).checkAssert((heads, t, halfD, seed) -> {
                    int d = 2 * halfD;
                    Random r = new Random(seed);
                    long[] pos = new long[t];
                    for (int i = 0; i < t; i++) pos[i] = r.nextInt(100);
                    Tensor posT = BE.fromLongs(pos, 1, t);
                    assertNoMismatch(GradCheck.check(BE, new Parameters(), GradCheck.gaussian(r, heads * t * d, 1.0),
                            new int[]{1, heads, t, d}, x -> BE.rope(x, posT, 50000),
                            (dy, g) -> BE.ropeBackward(dy, posT, 50000), () -> true, seed, 3 * SAMPLES));
                });
    }

    @Test
    void swiGluMlp() {
        qt().withExamples(15).forAll(integers().between(1, 4), integers().between(1, 6), integers().between(1, 6),
                longs().all()).checkAssert((n, c, inter, seed) -> {
                    Random r = new Random(seed);
                    Parameters p = new Parameters();
                    p.put("m.gate_proj.weight", BE.fromDoubles(GradCheck.gaussian(r, inter * c, 0.7), inter, c));
                    p.put("m.up_proj.weight", BE.fromDoubles(GradCheck.gaussian(r, inter * c, 0.7), inter, c));
                    p.put("m.down_proj.weight", BE.fromDoubles(GradCheck.gaussian(r, inter * c, 0.7), c, inter));
                    Mlp mlp = new Mlp(BE, p, "m.", c, inter);
                    mlp.keepForBackward(true);
                    assertNoMismatch(GradCheck.check(BE, p, GradCheck.gaussian(r, n * c, 1.0), new int[]{n, c},
                            mlp::forward, mlp::backward, () -> true, seed, SAMPLES));
                });
    }

    @Test
    void mlaAttentionBothQueryPaths() {
        qt().withExamples(12).forAll(integers().between(1, 4), integers().between(1, 3), booleans().all(),
                longs().all()).checkAssert((t, heads, qLora, seed) -> {
                    int b = (seed & 1) == 0 ? 1 : 2;
                    MoonlightConfig cfg = config(8, heads, 3, 4, 3, 5, qLora ? 6 : null, 4, 2, 1, 1, 1);
                    Parameters all = ModelInit.random(cfg, BE, DType.F64, seed);
                    Parameters p = subset(all, "model.layers.0.self_attn.");
                    for (String n : p.names()) {
                        if (n.contains("layernorm")) {      // norms away from 1 so their gradient is exercised
                            p.put(n, BE.fromDoubles(GradCheck.gaussian(new Random(seed + 1), (int) p.get(n).numel(), 1.0),
                                    p.get(n).shape()));
                        }
                    }
                    MlaAttention attn = new MlaAttention(BE, p, "model.layers.0.self_attn.", cfg);
                    attn.keepForBackward(true);
                    long[] pos = new long[b * t];
                    for (int i = 0; i < pos.length; i++) pos[i] = i % t + 3;
                    Tensor posT = BE.fromLongs(pos, b, t);
                    Tensor mask = AttentionMask.causal(BE, DType.F64, t, null);
                    assertNoMismatch(GradCheck.check(BE, p, GradCheck.gaussian(new Random(seed), b * t * 8, 1.0),
                            new int[]{b, t, 8}, x -> attn.forward(x, posT, mask), attn::backward, () -> true, seed,
                            SAMPLES));
                });
    }

    /**
     * Attention under an extra additive mask {@code (B, 1, T, T)}, different per sequence: left padding of a random
     * length (pad keys at −10⁴, so the rows of pad queries see only pad keys) and a finite random bias in [−2, 0] on
     * the other entries. Pad keys are not put at finfo.min here: a query row whose every key sits at finfo.min has a
     * forward that is flat in the scores (score + finfo.min rounds to finfo.min, the row is uniform), while the
     * backward, like autograd's, passes the softmax gradient of that uniform row to the scores, so no finite difference
     * can check such a row. A backward that rebuilt the probabilities from the causal mask alone passes
     * {@link #mlaAttentionBothQueryPaths} but not this.
     */
    @Test
    void mlaAttentionWithPaddingAndAnExtraMask() {
        qt().withExamples(10).forAll(integers().between(2, 5), integers().between(1, 2), booleans().all(),
                longs().all()).checkAssert((t, heads, qLora, seed) -> {
                    int b = 2;
                    MoonlightConfig cfg = config(8, heads, 3, 4, 3, 5, qLora ? 6 : null, 4, 2, 1, 1, 1);
                    Parameters p = subset(ModelInit.random(cfg, BE, DType.F64, seed), "model.layers.0.self_attn.");
                    MlaAttention attn = new MlaAttention(BE, p, "model.layers.0.self_attn.", cfg);
                    attn.keepForBackward(true);
                    Random r = new Random(seed);
                    double[] extra = new double[b * t * t];
                    long[] pos = new long[b * t];
                    for (int n = 0; n < b; n++) {
                        int pad = n == 0 ? 1 + r.nextInt(t - 1) : r.nextInt(t);     // sequence 0 is always padded
                        for (int i = 0; i < t; i++) {
                            pos[n * t + i] = Math.max(0, i - pad);
                            for (int j = 0; j < t; j++) {
                                extra[(n * t + i) * t + j] = j < pad ? -1e4 : -2 * r.nextDouble();
                            }
                        }
                    }
                    Tensor posT = BE.fromLongs(pos, b, t);
                    Tensor mask = AttentionMask.causal(BE, DType.F64, t, BE.fromDoubles(extra, b, 1, t, t));
                    assertNoMismatch(GradCheck.check(BE, p, GradCheck.gaussian(r, b * t * 8, 1.0),
                            new int[]{b, t, 8}, x -> attn.forward(x, posT, mask), attn::backward, () -> true, seed,
                            2 * SAMPLES));
                });
    }

    @Test
    void routerGradientFlowsThroughSelectedWeightsOnly() {
        qt().withExamples(15).forAll(integers().between(1, 5), integers().between(2, 4), booleans().all(),
                longs().all()).checkAssert((n, k, grouped, seed) -> {
                    int experts = 8;
                    MoonlightConfig cfg = config(6, 1, 2, 2, 2, 3, null, experts, k, grouped ? 2 : 1, grouped ? 1 : 1, 2);
                    Random r = new Random(seed);
                    Parameters p = new Parameters();
                    p.put("g.weight", BE.fromDoubles(GradCheck.gaussian(r, experts * 6, 0.5), experts, 6));
                    p.put("g.e_score_correction_bias", BE.fromDoubles(GradCheck.gaussian(r, experts, 0.1), experts));
                    MoeGate gate = new MoeGate(BE, p, "g.", cfg);
                    gate.keepForBackward(true);
                    long[][] ref = new long[1][];
                    long[][] last = new long[1][];
                    GradCheckTarget target = new GradCheckTarget(gate, last);
                    List<String> bad = GradCheck.check(BE, p, GradCheck.gaussian(r, n * 6, 1.0), new int[]{n, 6},
                            x -> {
                                Tensor w = target.forward(x);
                                if (ref[0] == null) ref[0] = last[0];
                                return w;
                            },
                            target::backward, () -> Arrays.equals(ref[0], last[0]), seed, SAMPLES);
                    assertNoMismatch(bad);
                });
    }

    /** The gate as a layer: x → routing weights (N, k); idx of the last call recorded. */
    private record GradCheckTarget(MoeGate gate, long[][] last) {
        Tensor forward(Tensor x) {
            MoeGate.Routing rt = gate.forward(x);
            last[0] = BE.toLongs(rt.topkIdx());
            return rt.topkWeight();
        }

        Tensor backward(Tensor dw, Grads g) {
            return gate.backward(dw, DType.F64, g);
        }
    }

    @Test
    void moeCombineSharedExpertsAndRouter() {
        qt().withExamples(10).forAll(integers().between(1, 6), integers().between(1, 3), longs().all())
                .checkAssert((n, k, seed) -> {
                    MoonlightConfig cfg = config(6, 1, 2, 2, 2, 3, null, 6, k, 1, 1, 2);
                    Parameters all = ModelInit.random(cfg, BE, DType.F64, seed);
                    Parameters p = subset(all, "model.layers.1.mlp.");
                    Moe moe = new Moe(BE, p, "model.layers.1.mlp.", cfg);
                    moe.keepForBackward(true);
                    long[][] ref = new long[1][];
                    long[][] last = new long[1][];
                    List<String> bad = GradCheck.check(BE, p, GradCheck.gaussian(new Random(seed), n * 6, 1.0),
                            new int[]{1, n, 6}, x -> {
                                Tensor y = moe.forward(x);
                                last[0] = BE.toLongs(moe.lastRouting().topkIdx());
                                if (ref[0] == null) ref[0] = last[0];
                                return y;
                            }, moe::backward, () -> Arrays.equals(ref[0], last[0]), seed, SAMPLES);
                    assertNoMismatch(bad);
                });
    }

    /**
     * The MoE block with group-limited routing: 8 experts in n_group ∈ {1, 2, 4} groups, topk_group ∈ [1, n_group],
     * k ∈ [2, min(4, topk_group · 8 / n_group)] (k &gt; 1, so the weight normalisation's cross term is exercised).
     */
    @Test
    void moeWithGroupLimitedRoutingAndSeveralExpertsPerToken() {
        qt().withExamples(12).forAll(integers().between(1, 5), integers().between(0, 2), integers().between(0, 99),
                longs().all()).checkAssert((n, gExp, pick, seed) -> {
                    int g = 1 << gExp, per = 8 / g, tg = 1 + pick % g;
                    int k = 2 + (pick / g) % (Math.min(4, tg * per) - 1);
                    MoonlightConfig cfg = config(6, 1, 2, 2, 2, 3, null, 8, k, g, tg, 2);
                    Parameters p = subset(ModelInit.random(cfg, BE, DType.F64, seed), "model.layers.1.mlp.");
                    Random r = new Random(seed);
                    // a non-zero bias so that selection (biased) and weights (unbiased) differ
                    p.put("model.layers.1.mlp.gate.e_score_correction_bias",
                            BE.fromDoubles(GradCheck.gaussian(r, 8, 0.1), 8));
                    Moe moe = new Moe(BE, p, "model.layers.1.mlp.", cfg);
                    moe.keepForBackward(true);
                    long[][] ref = new long[1][];
                    long[][] last = new long[1][];
                    List<String> bad = GradCheck.check(BE, p, GradCheck.gaussian(r, n * 6, 1.0),
                            new int[]{1, n, 6}, x -> {
                                Tensor y = moe.forward(x);
                                last[0] = BE.toLongs(moe.lastRouting().topkIdx());
                                if (ref[0] == null) ref[0] = last[0];
                                return y;
                            }, moe::backward, () -> Arrays.equals(ref[0], last[0]), seed, SAMPLES);
                    assertNoMismatch(bad);
                });
    }

    @Test
    void crossEntropyMeanOverNonIgnoredTargets() {
        qt().withExamples(15).forAll(integers().between(1, 3), integers().between(2, 5), integers().between(2, 7),
                longs().all()).checkAssert((b, t, v, seed) -> {
                    Random r = new Random(seed);
                    long[] labels = new long[b * t];
                    for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(4) == 0 ? -100 : r.nextInt(v);
                    labels[1] = 0;                                      // at least one target
                    Tensor lab = BE.fromLongs(labels, b, t);
                    CausalLmLoss[] last = new CausalLmLoss[1];
                    // L = mean loss, output as a (1) tensor so Σ y ⊙ R = R·L
                    assertNoMismatch(GradCheck.check(BE, new Parameters(), GradCheck.gaussian(r, b * t * v, 2.0),
                            new int[]{b, t, v}, x -> {
                                last[0] = CausalLmLoss.of(BE, x, lab);
                                return BE.fromDoubles(new double[]{last[0].mean()}, 1);
                            }, (dy, g) -> BE.mulScalar(last[0].backward(1.0 / last[0].count()), BE.item(dy)),
                            () -> true, seed, 3 * SAMPLES));
                });
    }

    @Test
    void wholeModelEmbeddingsLmHeadAndEveryLayer() {
        qt().withExamples(4).forAll(booleans().all(), longs().all()).checkAssert((qLora, seed) -> {
            MoonlightConfig cfg = config(8, 2, 3, 4, 3, 5, qLora ? 6 : null, 4, 2, 1, 1, 3);
            Parameters p = ModelInit.random(cfg, BE, DType.F64, seed);
            MoonlightModel model = new MoonlightModel(BE, cfg, p);
            model.training(true);
            Random r = new Random(seed);
            int b = 2, t = 4;
            long[] ids = new long[b * t];
            for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
            Tensor idsT = BE.fromLongs(ids, b, t);
            long[][] ref = new long[1][];
            long[][] last = new long[1][];
            CausalLmLoss[] loss = new CausalLmLoss[1];
            // x is a dummy (1) input: the model's input is discrete; L = mean causal-LM loss
            List<String> bad = GradCheck.check(BE, p, new double[]{0}, new int[]{1}, x -> {
                Tensor logits = model.forward(idsT);
                loss[0] = CausalLmLoss.of(BE, logits, idsT);
                last[0] = routing(model);
                if (ref[0] == null) ref[0] = last[0];
                return BE.fromDoubles(new double[]{loss[0].mean()}, 1);
            }, (dy, g) -> {
                model.backward(BE.mulScalar(loss[0].backward(1.0 / loss[0].count()), BE.item(dy)), g);
                return BE.zeros(DType.F64, 1);
            }, () -> Arrays.equals(ref[0], last[0]), seed, 2);
            assertNoMismatch(bad);
        });
    }

    /**
     * The embedding gradient through the whole model, probed at every element of the rows the tokens use (ids drawn
     * from 3 of the 11 rows, so rows repeat and their gradients must add up) and of one row no token uses (exactly
     * 0); random sampling of the table would mostly probe rows the batch never touches.
     */
    @Test
    void wholeModelEmbeddingRowsTheTokensUse() {
        qt().withExamples(3).forAll(longs().all()).checkAssert(seed -> {
            MoonlightConfig cfg = config(8, 2, 3, 4, 3, 5, null, 4, 2, 1, 1, 2);
            Parameters p = ModelInit.random(cfg, BE, DType.F64, seed);
            MoonlightModel model = new MoonlightModel(BE, cfg, p);
            model.training(true);
            Random r = new Random(seed);
            int b = 2, t = 4, c = 8, v = cfg.vocabSize();
            int[] rows = r.ints(0, v).distinct().limit(4).toArray();                // 3 used, rows[3] unused
            long[] ids = new long[b * t];
            for (int i = 0; i < ids.length; i++) ids[i] = rows[i < 3 ? i : r.nextInt(3)];
            Tensor idsT = BE.fromLongs(ids, b, t);
            int[] probes = new int[rows.length * c];
            for (int q = 0; q < rows.length; q++) for (int j = 0; j < c; j++) probes[q * c + j] = rows[q] * c + j;
            long[][] ref = new long[1][];
            long[][] last = new long[1][];
            CausalLmLoss[] loss = new CausalLmLoss[1];
            List<String> bad = GradCheck.check(BE, p, new double[]{0}, new int[]{1}, x -> {
                Tensor logits = model.forward(idsT);
                loss[0] = CausalLmLoss.of(BE, logits, idsT);
                last[0] = routing(model);
                if (ref[0] == null) ref[0] = last[0];
                return BE.fromDoubles(new double[]{loss[0].mean()}, 1);
            }, (dy, g) -> {
                model.backward(BE.mulScalar(loss[0].backward(1.0 / loss[0].count()), BE.item(dy)), g);
                return BE.zeros(DType.F64, 1);
            }, () -> Arrays.equals(ref[0], last[0]), seed, 0, Map.of("model.embed_tokens.weight", probes));
            assertNoMismatch(bad);
        });
    }

    @Test
    void gradNoneForTheBiasAndForExpertsNoTokenChose() {
        qt().withExamples(10).forAll(longs().all()).checkAssert(seed -> {
            MoonlightConfig cfg = config(8, 2, 3, 4, 3, 5, null, 8, 2, 1, 1, 2);
            Parameters p = ModelInit.random(cfg, BE, DType.F64, seed);
            MoonlightModel model = new MoonlightModel(BE, cfg, p);
            model.training(true);
            Tensor ids = BE.fromLongs(new long[]{1, 2, 3}, 1, 3);          // 3 tokens × k=2 < 8 experts: some idle
            CausalLmLoss loss = CausalLmLoss.of(BE, model.forward(ids), ids);
            try (Grads g = new Grads()) {
                model.backward(loss.backward(1.0 / loss.count()), g);
                long[] used = BE.toLongs(((Moe) model.layers().get(1).ffn()).lastRouting().topkIdx());
                for (int e = 0; e < 8; e++) {
                    final int ex = e;
                    boolean chosen = Arrays.stream(used).anyMatch(u -> u == ex);
                    assertThat(g.has("model.layers.1.mlp.experts." + e + ".up_proj.weight")).as("expert %d", e)
                            .isEqualTo(chosen);
                }
                assertThat(g.has("model.layers.1.mlp.gate.e_score_correction_bias")).isFalse();
                assertThat(g.size()).isEqualTo(p.size() - 1 - 3 * (8 - (int) Arrays.stream(used).distinct().count()));
            }
        });
    }

    private static long[] routing(MoonlightModel m) {
        long[] all = new long[0];
        for (DecoderLayer l : m.layers()) {
            if (l.isMoe()) {
                long[] idx = BE.toLongs(((Moe) l.ffn()).lastRouting().topkIdx());
                long[] n = Arrays.copyOf(all, all.length + idx.length);
                System.arraycopy(idx, 0, n, all.length, idx.length);
                all = n;
            }
        }
        return all;
    }
}
