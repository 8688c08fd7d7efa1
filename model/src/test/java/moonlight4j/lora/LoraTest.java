package moonlight4j.lora;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.io.Safetensors;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.optim.ParamSplit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

class LoraTest {

    private static final Backend BE = Backends.get("cpu");

    static MoonlightConfig small() {
        var j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 2).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 64);
        return MoonlightConfig.fromJson(j, "lora test config");
    }

    private static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] v = new float[shape[0] * shape[1]];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return BE.fromFloats(v, shape);
    }

    /** Adapters with B made non-zero (as after some training steps). */
    private static LoraAdapters trained(MoonlightConfig cfg, String spec) {
        LoraAdapters a = LoraAdapters.init(new LoraConfig(4, 8, LoraTargets.modules(spec, cfg), false, null), cfg,
                BE, DType.F32, 3);
        int k = 0;
        for (String w : a.targets()) {
            Tensor b = a.parameters().get(LoraAdapters.peftName(w, false));
            BE.axpyInPlace(b, 0.05, random(100 + k++, b.shape()));
        }
        return a;
    }

    @Test
    void allLinearTargetsEveryProjectionButNotTheRouterOrTheHead() {
        MoonlightConfig cfg = small();
        assertThat(LoraTargets.modules("all-linear", cfg)).containsExactly("down_proj", "gate_proj",
                "kv_a_proj_with_mqa", "kv_b_proj", "o_proj", "q_proj", "up_proj");
        List<String> w = LoraTargets.weights(LoraTargets.modules("all-linear", cfg), cfg);
        assertThat(w).contains("model.layers.1.mlp.experts.3.up_proj.weight", "model.layers.1.mlp.shared_experts.down_proj.weight",
                "model.layers.0.mlp.gate_proj.weight").noneMatch(n -> n.contains("lm_head") || n.endsWith("mlp.gate.weight"));
        assertThat(LoraTargets.weights(LoraTargets.modules("q_proj, o_proj", cfg), cfg)).hasSize(4);
        assertThatThrownBy(() -> LoraTargets.modules("q_proj,qkv", cfg)).hasMessageContaining("unknown LoRA target \"qkv\"")
                .hasMessageContaining("kv_b_proj");
        assertThatThrownBy(() -> LoraTargets.modules("gate", cfg)).hasMessageContaining("router");
    }

    @Test
    void freshAdaptersLeaveTheModelUnchangedAndGoToMuon() {
        MoonlightConfig cfg = small();
        Parameters base = ModelInit.random(cfg, BE, DType.BF16, 1);
        LoraAdapters a = LoraAdapters.init(new LoraConfig(4, 16, List.of("q_proj", "kv_b_proj", "up_proj"), false, null),
                cfg, BE, DType.F32, 2);
        Tensor ids = BE.fromLongs(new long[]{1, 5, 9, 33, 2, 7}, 1, 6);
        float[] want = BE.toFloats(new MoonlightModel(BE, cfg, base).forward(ids));
        float[] got = BE.toFloats(new MoonlightModel(BE, cfg, a.merged(BE, base)).forward(ids));
        assertThat(got).containsExactly(want);   // B = 0: W + s·0·A rounds back to W exactly
        Parameters p = a.parameters();
        assertThat(p.names()).allMatch(n -> n.startsWith("base_model.model.model.layers.")
                && (n.endsWith(".lora_A.weight") || n.endsWith(".lora_B.weight")));
        for (String n : p.names()) assertThat(ParamSplit.RELEASE.useMuon(n, p.get(n).shape())).as(n).isTrue();
        // A ~ U(−1/√in, 1/√in)
        double bound = 1 / Math.sqrt(32);
        for (float v : BE.toFloats(p.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"))) {
            assertThat((double) Math.abs(v)).isLessThanOrEqualTo(bound);
        }
    }

    @Test
    void theMergedWeightIsWPlusScaledBA() {
        MoonlightConfig cfg = small();
        Parameters base = ModelInit.random(cfg, BE, DType.F32, 1);
        LoraAdapters a = trained(cfg, "all-linear");
        Parameters merged = a.merged(BE, base);
        String w = "model.layers.1.self_attn.kv_b_proj.weight";
        double[] w0 = BE.toDoubles(base.get(w)), m = BE.toDoubles(merged.get(w));
        double[] av = BE.toDoubles(a.parameters().get(LoraAdapters.peftName(w, true)));
        double[] bv = BE.toDoubles(a.parameters().get(LoraAdapters.peftName(w, false)));
        int out = base.get(w).dim(0), in = base.get(w).dim(1), r = 4;
        double maxDelta = 0;
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) d += bv[o * r + k] * av[k * in + i];
                maxDelta = Math.max(maxDelta, Math.abs(2.0 * d));
                // fp32 product of 4 terms and one fp32 add; measured max error 7.8e-9, bound 1e-6
                assertThat(m[o * in + i]).isCloseTo(w0[o * in + i] + 2.0 * d, offset(1e-6));   // s = 8 / 4
            }
        }
        assertThat(maxDelta).isGreaterThan(1e-3);   // the update is not trivially zero
        assertThat(merged.get("lm_head.weight")).isSameAs(base.get("lm_head.weight"));
    }

    @Test
    void gradientsFollowTheChainRuleThroughTheEffectiveWeight() {
        MoonlightConfig cfg = small();
        LoraAdapters a = trained(cfg, "o_proj");
        String w = "model.layers.0.self_attn.o_proj.weight";
        Tensor aT = a.parameters().get(LoraAdapters.peftName(w, true)), bT = a.parameters().get(LoraAdapters.peftName(w, false));
        int out = bT.dim(0), in = aT.dim(1), r = 4;
        Tensor dW = random(9, out, in);
        Tensor[] g = a.gradients(BE, w, dW);
        // L(A, B) = Σ dW ⊙ (W + s·B·A): dL/dA[k, i] = s·Σ_o B[o, k]·dW[o, i], dL/dB[o, k] = s·Σ_i dW[o, i]·A[k, i]
        double[] gw = BE.toDoubles(dW), av = BE.toDoubles(aT), bv = BE.toDoubles(bT);
        double[] da = BE.toDoubles(g[0]), db = BE.toDoubles(g[1]);
        for (int k = 0; k < r; k++) {
            for (int i = 0; i < in; i++) {
                double want = 0;
                for (int o = 0; o < out; o++) want += 2.0 * bv[o * r + k] * gw[o * in + i];
                assertThat(da[k * in + i]).isCloseTo(want, offset(1e-5));   // fp32 sums of 32 terms; measured max error 6.2e-7 (both), bound 1e-5
            }
        }
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                double want = 0;
                for (int i = 0; i < in; i++) want += 2.0 * gw[o * in + i] * av[k * in + i];
                assertThat(db[o * r + k]).isCloseTo(want, offset(1e-5));
            }
        }
    }

    @Test
    void adaptersSaveInPeftLayoutAndLoadBack(@TempDir Path tmp) throws Exception {
        MoonlightConfig cfg = small();
        LoraAdapters a = trained(cfg, "q_proj,kv_b_proj,gate_proj");
        a.save(tmp);
        String json = Files.readString(tmp.resolve("adapter_config.json"));
        assertThat(json).contains("\"peft_type\" : \"LORA\"").contains("\"r\" : 4").contains("\"lora_alpha\" : 8.0")
                .contains("\"task_type\" : \"CAUSAL_LM\"").contains("\"kv_b_proj\"");
        LoraAdapters back = LoraAdapters.load(tmp, cfg, BE);
        assertThat(back.config()).isEqualTo(a.config());
        assertThat(back.targets()).isEqualTo(a.targets());
        Parameters p = a.parameters(), q = back.parameters();
        assertThat(q.names()).containsExactlyInAnyOrderElementsOf(p.names());
        for (String n : p.names()) assertThat(BE.toFloats(q.get(n))).as(n).containsExactly(BE.toFloats(p.get(n)));
    }

    @Test
    void aMergedModelDirectoryHoldsTheEffectiveWeightsAndTheTokenizer(@TempDir Path tmp) throws Exception {
        MoonlightConfig cfg = small();
        Parameters base = ModelInit.random(cfg, BE, DType.BF16, 1);
        moonlight4j.model.MoonlightCheckpoint.save(tmp.resolve("base"), cfg, base);
        moonlight4j.tokenizer.ByteVocabulary.write(tmp.resolve("base"));
        LoraAdapters a = trained(cfg, "kv_b_proj,down_proj");
        a.save(tmp.resolve("adapter"));
        int n = LoraMerge.write(tmp.resolve("base"), tmp.resolve("adapter"), tmp.resolve("merged"), BE);
        assertThat(n).isEqualTo(2 + 1 + 8 + 1);   // kv_b in 2 layers; down_proj: dense (layer 0), 8 experts + shared (layer 1)
        var merged = moonlight4j.model.MoonlightCheckpoint.load(tmp.resolve("merged"), BE);
        Parameters want = LoraAdapters.load(tmp.resolve("adapter"), cfg, BE).merged(BE, base);
        for (String name : want.names()) {
            assertThat(merged.parameters().get(name).dtype()).as(name).isEqualTo(want.get(name).dtype());
            assertThat(BE.toDoubles(merged.parameters().get(name))).as(name).containsExactly(BE.toDoubles(want.get(name)));
        }
        assertThat(BE.toBf16Bits(merged.parameters().get("model.layers.1.self_attn.kv_b_proj.weight")))
                .isNotEqualTo(BE.toBf16Bits(base.get("model.layers.1.self_attn.kv_b_proj.weight")));
        assertThat(tmp.resolve("merged").resolve("tiktoken.model")).exists();
        assertThat(tmp.resolve("merged").resolve("tokenizer_config.json")).exists();
    }

    @Test
    void badAdaptersAreClearErrors(@TempDir Path tmp) throws Exception {
        MoonlightConfig cfg = small();
        LoraAdapters a = trained(cfg, "q_proj");
        a.save(tmp.resolve("ok"));
        // rank of the file does not match its config
        Path bad = tmp.resolve("rank");
        new LoraConfig(8, 8, List.of("q_proj"), false, null).write(bad);
        Files.copy(tmp.resolve("ok").resolve(LoraAdapters.FILE), bad.resolve(LoraAdapters.FILE));
        assertThatThrownBy(() -> LoraAdapters.load(bad, cfg, BE)).hasMessageContaining("lora_A.weight: shape [4, 32], expected [8, 32]");
        // an A without its B, and a module the model does not have
        Path half = tmp.resolve("half");
        new LoraConfig(4, 8, List.of("q_proj"), false, null).write(half);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", random(1, 4, 32));
        t.put("base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight", random(1, 4, 32));
        Safetensors.write(half.resolve(LoraAdapters.FILE), t, Map.of());
        assertThatThrownBy(() -> LoraAdapters.load(half, cfg, BE))
                .hasMessageContaining("has lora_A but no lora_B").hasMessageContaining("no projection model.layers.9");
        // unsupported PEFT options
        Path dora = tmp.resolve("dora");
        Files.createDirectories(dora);
        Files.writeString(dora.resolve("adapter_config.json"),
                "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"],\"use_dora\":true}");
        assertThatThrownBy(() -> LoraConfig.read(dora)).hasMessageContaining("DoRA is not supported");
        assertThatThrownBy(() -> LoraAdapters.load(tmp.resolve("none"), cfg, BE)).hasMessageContaining("has no adapter_config.json");
    }
}
