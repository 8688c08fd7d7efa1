package moonlight4j.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.cli.CliRun;
import moonlight4j.cli.Main;
import moonlight4j.io.HfCheckpoint;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.tokenizer.ByteVocabulary;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A small model directory (config.json, model.safetensors, the byte tokenizer) to corrupt, and the {@code moonlight}
 * command line run in-process with its output captured.
 */
final class ModelDirs {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Backend BE = Backends.get("cpu");

    private ModelDirs() {
    }

    /**
     * The tiny preset narrowed to 2 layers (1 dense, 1 MoE of 8 experts), hidden 32, the byte vocabulary (514 ids),
     * context 128; {@code moe_intermediate_size} stays 128 as in the preset.
     */
    static ObjectNode smallConfigJson() {
        ObjectNode j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("num_hidden_layers", 2).put("kv_lora_rank", 16)
                .put("qk_nope_head_dim", 8).put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 514)
                .put("max_position_embeddings", 128).put("eos_token_id", 257).put("initializer_range", 0.5);
        return j;
    }

    /** Saves the small model with random F32 weights (seed 15) and its tokenizer into {@code dir}. */
    static Path saveSmallModel(Path dir) throws IOException {
        MoonlightConfig cfg = MoonlightConfig.fromJson(smallConfigJson(), "small model");
        Parameters p = ModelInit.random(cfg, BE, DType.F32, 15);
        MoonlightCheckpoint.save(dir, cfg, p);
        ByteVocabulary.write(dir);
        return dir;
    }

    /** A copy of the files of {@code from} in {@code to}. */
    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    /** A copy of {@code from} whose config.json is {@code configText} (UTF-8). */
    static Path withConfig(Path from, Path to, String configText) throws IOException {
        return withConfig(from, to, configText.getBytes(StandardCharsets.UTF_8));
    }

    static Path withConfig(Path from, Path to, byte[] configBytes) throws IOException {
        copy(from, to);
        Files.write(to.resolve(HfCheckpoint.CONFIG), configBytes);
        return to;
    }

    /** The small config's JSON text with {@code field} set to the JSON literal {@code literal} (e.g. "1e400"). */
    static String smallConfigWith(String field, String literal) throws IOException {
        ObjectNode j = smallConfigJson();
        j.put(field, "@@");
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(j).replace("\"@@\"", literal);
    }

    /** Exit code, stdout and stderr of one command line. */
    record Run(int rc, String out, String err) {
        /** The command's error line ({@code error: ...}) or the whole of stderr when it printed none. */
        String error() {
            int at = err.indexOf("error: ");
            return at < 0 ? err : err.substring(at);
        }
    }

    /**
     * Runs {@code moonlight args...} in a new JVM with heap {@code -Xmx<heap>} (the test's own classpath), killed
     * after {@code timeoutSeconds}; an OutOfMemoryError there shows as its stderr and a non-2 exit code.
     */
    static Run cliInChildJvm(String heap, int timeoutSeconds, String... args) throws IOException, InterruptedException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
                "-XX:TieredStopAtLevel=1", "-cp", classpath, Main.class.getName()));
        cmd.addAll(java.util.List.of(args));
        Path out = Files.createTempFile("moonlight-out", ".txt"), err = Files.createTempFile("moonlight-err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            boolean done = p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor();
                return new Run(-1, Files.readString(out), Files.readString(err) + "\n(killed after " + timeoutSeconds + " s)");
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Runs {@code moonlight args...} in this JVM (the same code path as the launcher), capturing its output. */
    static Run cli(String... args) {
        CliRun.Result r = CliRun.run(args);
        return new Run(r.rc(), r.out(), r.err());
    }
}
