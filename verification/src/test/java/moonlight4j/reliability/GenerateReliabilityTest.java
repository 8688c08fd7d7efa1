package moonlight4j.reliability;

import moonlight4j.api.DType;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.tokenizer.ByteVocabulary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static moonlight4j.reliability.ModelDirs.BE;
import static moonlight4j.reliability.ModelDirs.cli;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code moonlight generate} on models whose logits are not finite: it stops with an error naming the step and the
 * token id instead of sampling from NaN (argmax over NaN logits is id 0, printed as a NUL byte).
 */
@Timeout(60)
class GenerateReliabilityTest {

    @TempDir
    Path tmp;

    private static void stopsOnNonFiniteLogits(Path dir, String fragment) {
        for (String sampling : new String[]{"0", "0.7"}) {
            ModelDirs.Run r = cli("generate", "--model", dir.toString(), "--prompt", "hello", "--max-new-tokens", "4",
                    "--temperature", sampling);
            assertThat(r.rc()).as("exit code; stdout %s", r.out()).isEqualTo(2);
            assertThat(r.error()).startsWith("error: generate: the model produced a non-finite logit").contains(fragment)
                    .contains("of prompt 0");
            assertThat(r.out().replaceFirst("^backend: [^\n]*\n", "")).as("nothing printed from NaN logits").isEmpty();
        }
    }

    @Test
    void nanInTheOutputHeadStopsGeneration() throws IOException {
        MoonlightConfig cfg = MoonlightConfig.fromJson(ModelDirs.smallConfigJson(), "small");
        Parameters p = ModelInit.random(cfg, BE, DType.F32, 15);
        float[] head = BE.toFloats(p.get("lm_head.weight"));
        head[7 * cfg.hiddenSize()] = Float.NaN;                                 // token id 7's logit
        p.put("lm_head.weight", BE.fromFloats(head, cfg.vocabSize(), cfg.hiddenSize()));
        Path dir = tmp.resolve("nan-head");
        MoonlightCheckpoint.save(dir, cfg, p);
        ByteVocabulary.write(dir);
        stopsOnNonFiniteLogits(dir, "(NaN for token id 7) at step 0");
    }

    @Test
    void anInRangeConfigThatOverflowsTheActivationsStopsGeneration() throws IOException {
        // routed_scaling_factor 3e38 is finite in fp32, so the config is accepted; the MoE output overflows to Inf
        Path dir = ModelDirs.withConfig(ModelDirs.saveSmallModel(tmp.resolve("model")), tmp.resolve("rsf"),
                ModelDirs.smallConfigWith("routed_scaling_factor", "3e38"));
        stopsOnNonFiniteLogits(dir, "at step 0");
    }
}
