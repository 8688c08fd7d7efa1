package moonlight4j.cli;

import moonlight4j.model.MoonlightConfig;
import moonlight4j.tokenizer.TiktokenLoader;
import moonlight4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code moonlight train}: bad input fails before any work with a clear message; a short text run writes its files. */
class TrainCommandTest {

    /** rc, stdout, stderr. */
    private static String[] run(String... args) {
        return CliRun.run(args).asArray();
    }

    private static Path text(Path dir, int repeats) throws IOException {
        Path f = dir.resolve("sums.txt");
        Files.writeString(f, "1+1=2, 1+2=3, 2+2=4, ".repeat(repeats));
        return f;
    }

    @Test
    void badInputIsRejectedBeforeAnyWork(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        String o = out.toString();
        String[] r = run("train", "--optimizer", "sgd", "--out", o);
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("--optimizer 'sgd': expected one of [muon, adamw]");
        r = run("train", "--dataset", dir.resolve("missing.txt").toString(), "--out", o);
        assertThat(r[2]).contains("missing.txt: no such file");
        Path empty = Files.writeString(dir.resolve("empty.txt"), "");
        r = run("train", "--dataset", empty.toString(), "--out", o);
        assertThat(r[2]).contains("empty.txt: the file is empty");
        r = run("train", "--dataset", text(dir, 4).toString(), "--seq-len", "8", "--batch", "64", "--out", o);
        assertThat(r[2]).contains("--batch 64 is larger than the data").contains("10 chunks of 8 tokens");
        r = run("train", "--frobnicate", "--out", o);
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("Unknown option: '--frobnicate'");
        r = run("train", "--lora-rank", "4", "--epochs", "2", "--out", o);
        assertThat(r[2]).contains("--epochs, --lora-rank: only for fine-tuning on JSONL conversations");
        r = run("train", "--resume", dir.resolve("nope").toString(), "--out", o);
        assertThat(r[2]).contains("--resume").contains("no such directory");
        assertThat(Files.exists(out)).as("nothing written").isFalse();
    }

    @Test
    void shortTextRunWritesMetricsPlotSummaryAndAModelDirectoryThenResumeChecksTheRun(@TempDir Path dir)
            throws IOException {
        Path data = text(dir, 40);
        Path out = dir.resolve("run");
        String[] r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--seq-len", "16", "--batch", "2",
                "--steps", "2", "--save-every", "1", "--eval-chunks", "2", "--out", out.toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        for (String f : new String[]{"metrics.csv", "loss.png", "summary.json", "model-muon/config.json",
                "model-muon/model.safetensors", "model-muon/tiktoken.model", "model-muon/tokenizer_config.json",
                "muon/checkpoints/latest"}) {
            assertThat(out.resolve(f)).as(f).isRegularFile();
        }
        assertThat(Files.readAllLines(out.resolve("metrics.csv"))).hasSize(3);    // header + 2 steps
        assertThat(Files.readAllLines(out.resolve("model-muon/tiktoken.model"))).hasSize(256);
        assertThat(r[1]).contains("model (muon): " + out.resolve("model-muon").toAbsolutePath());
        // config.json carries the tokenizer's own [BOS]/[EOS] ids (what HF generate() stops on), and reads back
        Tokenizer tok = TiktokenLoader.load(out.resolve("model-muon"));
        MoonlightConfig saved = MoonlightConfig.read(out.resolve("model-muon/config.json"));
        assertThat(saved.unused().get("bos_token_id").asInt()).isEqualTo(tok.bosId()).isEqualTo(256);
        assertThat(saved.unused().get("eos_token_id").asInt()).isEqualTo(tok.eosId()).isEqualTo(257);
        assertThat(GenerateCommand.stopIds(tok, saved.unused().get("eos_token_id"))).contains(257L);
        // --init starts from the saved HF-layout model directory, also one whose special-token ids are another
        // vocabulary's (the tiny preset's 1/2): they do not change the weights
        Path cfgFile = out.resolve("model-muon/config.json");
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(cfgFile.toFile());
        Files.writeString(cfgFile, json.put("bos_token_id", 1).put("eos_token_id", 2).toString());
        assertThat(MoonlightConfig.read(cfgFile).unused().get("eos_token_id").asInt()).isEqualTo(2);
        r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--seq-len", "16", "--batch", "2",
                "--steps", "1", "--init", out.resolve("model-muon").toString(), "--out", dir.resolve("run3").toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        // resuming that run with another optimizer is refused before any step
        r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--seq-len", "16", "--batch", "2",
                "--steps", "3", "--optimizer", "adamw", "--resume", out.resolve("muon").toString(),
                "--out", dir.resolve("run2").toString());
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("comes from a different run").contains("optimizer: checkpoint muon, this run adamw");
    }

    @Test
    void dataParallelRunsCheckpointEveryRankAndResumeOnAnotherWorldSize(@TempDir Path dir) throws IOException {
        Path data = text(dir, 40);
        Path out = dir.resolve("run");
        String[] r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--seq-len", "16", "--batch", "6",
                "--steps", "2", "--save-every", "2", "--eval-chunks", "2", "--dist", "local", "--ranks", "2",
                "--out", out.toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        Path ck = out.resolve("muon/checkpoints/step-000002");
        for (String f : new String[]{"optimizer-rank-00000-of-00002.safetensors", "optimizer-rank-00001-of-00002.safetensors",
                "model/model.safetensors", "trainer_state.json"}) {
            assertThat(ck.resolve(f)).as(f).isRegularFile();
        }
        assertThat(Files.readString(ck.resolve("trainer_state.json"))).contains("\"world_size\" : 2");
        r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--seq-len", "16", "--batch", "6",
                "--steps", "3", "--eval-chunks", "2", "--resume", out.resolve("muon").toString(), "--dist", "local",
                "--ranks", "3", "--out", dir.resolve("run2").toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("resumed muon from").contains("at step 2 (optimizer state re-partitioned from 2 to 3 ranks)");
        assertThat(Files.readAllLines(dir.resolve("run2/metrics.csv"))).hasSize(2);   // header + step 3
    }
}
