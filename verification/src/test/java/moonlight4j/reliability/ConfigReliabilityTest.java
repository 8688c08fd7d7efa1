package moonlight4j.reliability;

import moonlight4j.io.HfCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static moonlight4j.reliability.ModelDirs.cli;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile config.json files replayed through {@code moonlight inspect} and {@code moonlight generate} on a small
 * model directory: configs that describe unbounded sizes, sizes that overflow an int, non-finite or out-of-range
 * values, and text that is not strict UTF-8 JSON. Each must end in one error line naming config.json and the field
 * (or the encoding), quickly and without allocating what the config describes.
 */
@Timeout(60)
class ConfigReliabilityTest {

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void saveModel() throws IOException {
        model = ModelDirs.saveSmallModel(tmp.resolve("model"));
        assertThat(cli("inspect", model.toString()).rc()).isZero();
    }

    /** inspect and generate on a copy of the model whose config.json is {@code config}: both fail naming it. */
    private static void bothReject(String name, byte[] config, String... fragments) throws IOException {
        Path dir = ModelDirs.withConfig(model, tmp.resolve(name), config);
        String configFile = dir.resolve(HfCheckpoint.CONFIG).toString();
        ModelDirs.Run inspect = cli("inspect", dir.toString());
        ModelDirs.Run generate = cli("generate", "--model", dir.toString(), "--prompt", "hi", "--max-new-tokens", "2");
        for (ModelDirs.Run r : new ModelDirs.Run[]{inspect, generate}) {
            assertThat(r.rc()).as("%s: exit code; stderr %s", name, r.err()).isEqualTo(2);
            assertThat(r.error()).as(name).startsWith("error: ").contains(configFile).contains(fragments);
            assertThat(r.out()).as(name).doesNotContain("tensors match the config");
        }
    }

    private static void bothReject(String name, String config, String... fragments) throws IOException {
        bothReject(name, config.getBytes(StandardCharsets.UTF_8), fragments);
    }

    // ---------------------------------------------------------------- unbounded sizes

    @Test
    void twoBillionRoutedExpertsIsRefusedByNameNotByRunningOutOfMemory() throws IOException {
        // before: ModelShapes.expected built a map of 6·10⁹ names (OutOfMemoryError)
        bothReject("experts", ModelDirs.smallConfigWith("n_routed_experts", "2000000000"),
                "n_routed_experts = 2000000000", "more than the limit of 262,144");
    }

    @Test
    void hundredMillionLayersIsRefusedByName() throws IOException {
        bothReject("layers", ModelDirs.smallConfigWith("num_hidden_layers", "100000000"),
                "num_hidden_layers = 100000000", "more than the limit of 262,144");
    }

    @Test
    void unboundedConfigsFailByNameUnderASmallHeap() throws Exception {
        // the setting: a separate JVM with a small heap, where the unbounded map ran out of memory
        for (String[] c : new String[][]{{"n_routed_experts", "2000000000"}, {"num_hidden_layers", "100000000"}}) {
            Path dir = ModelDirs.withConfig(model, tmp.resolve("heap-" + c[0]), ModelDirs.smallConfigWith(c[0], c[1]));
            for (String[] args : new String[][]{{"inspect", dir.toString()},
                    {"generate", "--model", dir.toString(), "--prompt", "hi"}}) {
                ModelDirs.Run r = ModelDirs.cliInChildJvm("256m", 45, args);
                assertThat(r.rc()).as("%s %s: stderr %s", args[0], c[0], r.err()).isEqualTo(2);
                assertThat(r.error()).contains(dir.resolve("config.json").toString()).contains(c[0] + " = " + c[1])
                        .doesNotContain("OutOfMemoryError");
            }
        }
    }

    @Test
    void sizesWithinTheCapsAreCheckedAgainstTheTensorsPresent() throws IOException {
        // 64 experts and 1000 layers are plausible configs, but this checkpoint holds 8 experts in 2 layers
        Path experts = ModelDirs.withConfig(model, tmp.resolve("64experts"), ModelDirs.smallConfigWith("n_routed_experts", "64"));
        ModelDirs.Run r = cli("inspect", experts.toString());
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.out()).contains("tensors match the config: NO — " + experts.resolve("config.json")
                + ": config field 'n_routed_experts' = 64 but the checkpoint holds experts 0..7");
        Path layers = ModelDirs.withConfig(model, tmp.resolve("1000layers"), ModelDirs.smallConfigWith("num_hidden_layers", "1000"));
        ModelDirs.Run g = cli("generate", "--model", layers.toString(), "--prompt", "hi");
        assertThat(g.rc()).isEqualTo(2);
        assertThat(g.error()).contains("config field 'num_hidden_layers' = 1000 but the checkpoint holds layers 0..1");
    }

    // ---------------------------------------------------------------- int overflow in derived sizes

    @Test
    void sharedExpertWidthThatWrapsToAValidShapeIsRefused() throws IOException {
        // 33554433 × 128 = 2^32 + 128: in int arithmetic the shared width wrapped to 128, the shape on disk, and the
        // model loaded as valid
        bothReject("shared", ModelDirs.smallConfigWith("n_shared_experts", "33554433"),
                "n_shared_experts × moe_intermediate_size = 33554433 × 128 = 4294967424", "exceed the largest tensor dimension");
    }

    @Test
    void headCountThatOverflowsNamesTheField() throws IOException {
        // 200000000 × (8 + 8) wraps to −1094967296; before: "negative dimension in shape [-1094967296, 32]" (no field)
        bothReject("heads", ModelDirs.smallConfigWith("num_attention_heads", "200000000"),
                "num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim) = 200000000 × (8 + 8) = 3200000000",
                "exceed the largest tensor dimension");
    }

    // ---------------------------------------------------------------- non-finite and out-of-range values

    @Test
    void nonFiniteScalingFactorIsRefusedByName() throws IOException {
        bothReject("rsf", ModelDirs.smallConfigWith("routed_scaling_factor", "1e400"),
                "'routed_scaling_factor' must be a finite number");
    }

    @Test
    void hugeNormEpsilonIsRefusedByName() throws IOException {
        bothReject("eps", ModelDirs.smallConfigWith("rms_norm_eps", "1e300"), "'rms_norm_eps' = 1.0E300 must be in (0, 1]");
    }

    @Test
    void negativeContextIsRefusedByInspect() throws IOException {
        bothReject("context", ModelDirs.smallConfigWith("max_position_embeddings", "-5"),
                "'max_position_embeddings' = -5 must be positive");
    }

    // ---------------------------------------------------------------- strict UTF-8, strict JSON

    @Test
    void utf16ConfigIsRefused() throws IOException {
        String text = ModelDirs.smallConfigWith("vocab_size", "514");
        bothReject("utf16le", text.getBytes(StandardCharsets.UTF_16LE), "UTF-16 or UTF-32", "expected UTF-8");
        bothReject("utf16bom", text.getBytes(StandardCharsets.UTF_16), "UTF-16 (byte-order mark)");
    }

    @Test
    void byteOrderMarkIsRefused() throws IOException {
        bothReject("bom", "\uFEFF" + ModelDirs.smallConfigWith("vocab_size", "514"), "UTF-8 with a byte-order mark");
    }

    @Test
    void repeatedFieldAndTrailingContentAreRefused() throws IOException {
        String text = ModelDirs.smallConfigWith("vocab_size", "514");
        bothReject("twice", text.replaceFirst("\\{", "{\"vocab_size\": 99999,"), "Duplicate field 'vocab_size'");
        bothReject("trailing", text + "\n{}", "content after the JSON value");
    }

    @Test
    void inspectOfOneFileReadsTheSiblingConfigStrictly() throws IOException {
        Path dir = ModelDirs.withConfig(model, tmp.resolve("sibling"), ModelDirs.smallConfigWith("vocab_size", "514") + " xyz");
        Files.delete(dir.resolve("tiktoken.model"));
        ModelDirs.Run r = cli("inspect", dir.resolve("model.safetensors").toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.error()).contains(dir.resolve("config.json") + ": not valid JSON: Unrecognized token 'xyz'");
    }
}
