package moonlight4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.io.HfCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MoonlightCheckpointTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void aTinyCheckpointLoadsBackBitIdentically(@TempDir Path tmp) throws Exception {
        MoonlightConfig cfg = MoonlightConfig.preset("tiny");
        for (DType dtype : new DType[]{DType.BF16, DType.F32}) {
            Parameters p = ModelInit.random(cfg, BE, dtype, 5);
            Path dir = tmp.resolve("tiny-" + dtype);
            MoonlightCheckpoint.save(dir, cfg, p, 1_000_000);               // several shards + index
            assertThat(dir.resolve(HfCheckpoint.INDEX)).exists();
            JsonNode written = TestModels.MAPPER.readTree(Files.readAllBytes(dir.resolve(HfCheckpoint.CONFIG)));
            var want = cfg.toJson().put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : "float32");
            assertThat(written).isEqualTo(want);                            // the HF field set
            assertThat(written.get("model_type").asText()).isEqualTo("deepseek_v3");
            MoonlightCheckpoint.Loaded back = MoonlightCheckpoint.load(dir, BE);
            assertThat(back.config().toJson()).isEqualTo(want);
            assertThat(back.parameters().names()).containsExactlyElementsOf(p.names());
            for (String n : p.names()) {
                Tensor a = p.get(n), b = back.parameters().get(n);
                assertThat(b.dtype()).as(n).isEqualTo(a.dtype());
                assertThat(b.shape()).as(n).isEqualTo(a.shape());
                if (a.dtype() == DType.BF16) assertThat(BE.toBf16Bits(b)).as(n).isEqualTo(BE.toBf16Bits(a));
                else assertThat(BE.toFloats(b)).as(n).isEqualTo(BE.toFloats(a));
            }
            // and the loaded model computes the same logits
            Tensor ids = BE.fromLongs(new long[]{1, 5, 9, 200}, 1, 4);
            assertThat(BE.toFloats(back.model(BE).forward(ids)))
                    .isEqualTo(BE.toFloats(new MoonlightModel(BE, cfg, p).forward(ids)));
        }
    }

    @Test
    void misShapedAndMissingTensorsAreListedInOneError(@TempDir Path tmp) throws Exception {
        MoonlightConfig cfg = TestModels.small();
        Parameters p = ModelInit.random(cfg, BE, DType.F32, 5);
        Map<String, Tensor> broken = new LinkedHashMap<>(p.asMap());
        broken.remove("model.layers.2.mlp.experts.3.up_proj.weight");
        broken.put("model.layers.0.self_attn.kv_b_proj.weight", BE.zeros(DType.F32, 5, 16));
        broken.put("model.layers.9.extra.weight", BE.zeros(DType.F32, 2));
        HfCheckpoint.save(tmp, cfg.toJson(), broken, 1L << 30);
        assertThatThrownBy(() -> MoonlightCheckpoint.load(tmp, BE))
                .hasMessageContaining("model.layers.2.mlp.experts.3.up_proj.weight")
                .hasMessageContaining("model.layers.0.self_attn.kv_b_proj.weight")
                .hasMessageContaining("[5, 16]")
                .hasMessageContaining("model.layers.9.extra.weight");
    }

    @Test
    void anUnsupportedConfigInACheckpointNamesTheFileAndField(@TempDir Path tmp) throws Exception {
        MoonlightConfig cfg = TestModels.small();
        var json = cfg.toJson();
        json.put("topk_method", "greedy");
        HfCheckpoint.save(tmp, json, ModelInit.random(cfg, BE, DType.F32, 1).asMap(), 1L << 30);
        assertThatThrownBy(() -> MoonlightCheckpoint.load(tmp, BE)).hasMessageContaining("config.json")
                .hasMessageContaining("'topk_method'");
    }
}
