package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.io.HfCheckpoint;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class InspectCommandTest {

    /** rc, stdout, stderr. */
    private static String[] run(String... args) {
        return CliRun.run(args).asArray();
    }

    @Test
    void presetPrintsThePaperCounts() {
        String[] r = run("inspect", "--preset", "moonlight-16b-a3b");
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).contains("non-embedding 15,289,021,568").contains("non-embedding 2,243,687,552")
                .contains("layers 27 (1 dense, 26 MoE)").contains("aux_loss_alpha=0.001")
                .contains("unknown fields (ignored): none").contains("tensors: 5317");
    }

    @Test
    void checkpointDirectoryIsSummarisedAndCheckedAgainstItsConfig(@TempDir Path tmp) throws Exception {
        Backend be = Backends.get("cpu");
        MoonlightConfig cfg = MoonlightConfig.preset("tiny");
        Parameters p = ModelInit.random(cfg, be, DType.BF16, 1);
        Path good = tmp.resolve("good");
        MoonlightCheckpoint.save(good, cfg, p, 1_000_000);
        String[] r = run("inspect", good.toString());
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).contains("tensors: 121").contains("BF16  118 tensors").contains("F32   3 tensors").contains("torch_dtype=\"bfloat16\"")
                .contains("tensors match the config: yes");

        var json = cfg.toJson();
        json.put("my_extra_flag", true);
        Map<String, moonlight4j.api.Tensor> broken = new LinkedHashMap<>(p.asMap());
        broken.remove("lm_head.weight");
        Path bad = tmp.resolve("bad");
        HfCheckpoint.save(bad, json, broken, 1L << 30);
        String[] b = run("inspect", bad.toString());
        assertThat(b[0]).isEqualTo("1");
        assertThat(b[1]).contains("unknown fields (ignored): my_extra_flag").contains("tensors match the config: NO")
                .contains("lm_head.weight");
    }

    @Test
    void neitherPathNorPresetIsAnError() {
        assertThat(run("inspect")[0]).isEqualTo("2");
    }
}
