package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.tokenizer.ByteVocabulary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class SftCommandTest {

    @TempDir
    static Path tmp;
    static Path base, data;

    /** A small random MoE model over the byte vocabulary, and the first 64 conversations of the shipped example. */
    @BeforeAll
    static void setUp() throws Exception {
        Backend be = Backends.get("cpu");
        var j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 2).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 514)
                .put("max_position_embeddings", 128);
        MoonlightConfig cfg = MoonlightConfig.fromJson(j, "sft cli test");
        base = tmp.resolve("base");
        MoonlightCheckpoint.save(base, cfg, ModelInit.random(cfg, be, DType.F32, 3));
        ByteVocabulary.write(base);
        List<String> lines = Files.readAllLines(Path.of("..", "examples", "sft-arithmetic-chat.jsonl"));
        data = tmp.resolve("data.jsonl");
        Files.write(data, lines.subList(0, 64));
    }

    /** rc, stdout, stderr. */
    private static String[] run(String... args) {
        return CliRun.run(args).asArray();
    }

    private static double loss(String out, String when) {
        Matcher m = Pattern.compile("validation loss " + when + ":\\s+([0-9.]+)").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void fullFineTuningLowersTheValidationLossAndWritesALoadableModel() {
        Path out = tmp.resolve("full");
        String[] r = run("sft", "--dataset", data.toString(), "--init", base.toString(), "--out", out.toString(),
                "--lr", "0.02", "--weight-decay", "0", "--epochs", "2", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("58 train / 6 validation").contains("padding").contains("full fine-tuning; Muon:");
        assertThat(loss(r[1], "after")).isLessThan(loss(r[1], "before") - 1.0);
        assertThat(r[1]).contains("validation loss after epoch 0:");
        // metrics.csv: header, validation before, 2 epochs × ⌈58/8⌉ = 16 steps, validation after each epoch
        List<String> rows;
        try {
            rows = Files.readAllLines(out.resolve("metrics.csv"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThat(rows).hasSize(20);
        assertThat(rows.stream().filter(l -> l.startsWith("validation,")).count()).isEqualTo(3);
        List<String> train = rows.stream().filter(l -> l.startsWith("train,")).toList();
        double firstLr = Double.parseDouble(train.get(0).split(",")[5]), lastLr = Double.parseDouble(train.get(15).split(",")[5]);
        assertThat(firstLr).isEqualTo(0.02);                          // no warm-up: the peak at step 1
        assertThat(lastLr).isLessThan(0.001);                         // cosine: ½(1 + cos(π·15/16))·0.02 = 1.9e-4
        assertThat(out.resolve("loss.png")).isRegularFile();
        String[] g = run("generate", "--model", out.toString(), "--prompt", "1+2=", "--max-new-tokens", "2", "--backend", "cpu");
        assertThat(g[0]).as(g[2]).isEqualTo("0");
    }

    @Test
    void aFineTuningRunResumedFromItsCheckpointEndsWhereTheUninterruptedOneEnds() {
        String[] common = {"sft", "--dataset", data.toString(), "--init", base.toString(), "--lr", "0.02",
                "--weight-decay", "0", "--backend", "cpu"};
        String[] a = run(concat(common, "--out", tmp.resolve("straight").toString()));
        assertThat(a[0]).as(a[2]).isEqualTo("0");
        // 58 conversations / 8 = 8 steps; --save-every 5 leaves the checkpoint of step 5 as the latest
        String[] b = run(concat(common, "--out", tmp.resolve("saved").toString(), "--save-every", "5"));
        assertThat(b[0]).as(b[2]).isEqualTo("0");
        Path ck = tmp.resolve("saved.checkpoints");
        assertThat(ck.resolve("step-000005/trainer_state.json")).isRegularFile();
        String[] c = run(concat(common, "--out", tmp.resolve("resumed").toString(), "--resume", ck.toString()));
        assertThat(c[0]).as(c[2]).isEqualTo("0");
        assertThat(c[1]).contains("at step 5 (epoch 0, batch 5)");
        assertThat(loss(c[1], "after")).isEqualTo(loss(a[1], "after"));       // steps 6–8 repeated exactly
        String[] d = run(concat(common, "--out", tmp.resolve("other").toString(), "--resume", ck.toString(),
                "--batch-size", "4"));
        assertThat(d[0]).isEqualTo("2");
        assertThat(d[2]).contains("comes from a different fine-tuning run").contains("batch_size: checkpoint 8, this run 4");
        Path pretraining = tmp.resolve("pretraining-checkpoint");
        try {
            Files.createDirectories(pretraining);
            Files.writeString(pretraining.resolve("trainer_state.json"), "{\"step\": 3, \"optimizer\": \"muon\"}");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String[] e = run(concat(common, "--out", tmp.resolve("other2").toString(), "--resume", pretraining.toString()));
        assertThat(e[2]).contains("is not a fine-tuning checkpoint");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void dataParallelFineTuningWritesTheModelOnceAndRefusesCheckpoints() {
        Path out = tmp.resolve("dp");
        String[] r = run("sft", "--dataset", data.toString(), "--init", base.toString(), "--out", out.toString(),
                "--lr", "0.02", "--weight-decay", "0", "--dist", "local", "--ranks", "2", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("dist: local, 2 ranks");
        assertThat(r[1].split("validation loss after:", -1)).hasSize(2);          // printed by rank 0 only
        assertThat(loss(r[1], "after")).isLessThan(loss(r[1], "before") - 1.0);
        assertThat(out.resolve("model.safetensors")).exists();
        String[] s = run("sft", "--dataset", data.toString(), "--init", base.toString(), "--out", out.toString(),
                "--dist", "local", "--ranks", "2", "--save-every", "2", "--backend", "cpu");
        assertThat(s[0]).isEqualTo("2");
        assertThat(s[2]).contains("--save-every/--resume with --dist");
    }

    @Test
    void loraWritesAPeftAdapterThatGenerateLoadsAndAMergedModelThatMatchesIt() {
        Path out = tmp.resolve("lora");
        String[] r = run("sft", "--dataset", data.toString(), "--init", base.toString(), "--out", out.toString(),
                "--lora-rank", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,o_proj,kv_b_proj", "--lr", "0.02",
                "--weight-decay", "0", "--merge-lora", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("LoRA r 4, alpha 8.0, 6 weights").contains("Muon: 12 tensors");
        assertThat(loss(r[1], "after")).isLessThan(loss(r[1], "before"));
        assertThat(out.resolve("adapter_config.json")).exists();
        assertThat(out.resolve("adapter_model.safetensors")).exists();
        String[] viaAdapter = run("generate", "--model", base.toString(), "--adapter", out.toString(), "--prompt",
                "What is 3+4?", "--chat", "--max-new-tokens", "4", "--backend", "cpu");
        String[] viaMerged = run("generate", "--model", out.resolve("merged").toString(), "--prompt", "What is 3+4?",
                "--chat", "--max-new-tokens", "4", "--backend", "cpu");
        assertThat(viaAdapter[0]).as(viaAdapter[2]).isEqualTo("0");
        assertThat(viaMerged[1]).isEqualTo(viaAdapter[1]);
    }

    @Test
    void trainWithAJsonlDatasetFineTunes() {
        Path out = tmp.resolve("via-train");
        String[] r = run("train", "--dataset", data.toString(), "--init", base.toString(), "--out", out.toString(),
                "--lora-rank", "2", "--lora-targets", "o_proj", "--lr", "0.02", "--batch", "16", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("LoRA r 2, alpha 32.0, 2 weights (o_proj)").contains("validation loss after");
        assertThat(out.resolve("adapter_model.safetensors")).exists();
        assertThat(run("train", "--dataset", data.toString(), "--backend", "cpu")[2]).contains("needs --init DIR");
        String[] d = run("train", "--dataset", data.toString(), "--init", base.toString(), "--out", out.toString(),
                "--dist", "local", "--ranks", "2", "--steps", "5", "--backend", "cpu");
        assertThat(d[0]).isEqualTo("2");
        assertThat(d[2]).contains("does not take --steps");
    }

    @Test
    void aBadLineIsNamedOrSkipped() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(data).subList(0, 10));
        lines.add(3, "{\"messages\": [{\"role\": \"user\", \"content\": \"1+1=\"}, {\"role\": \"assistant\", \"content\": \"\"}]}");
        Files.write(bad, lines);
        String[] r = run("sft", "--dataset", bad.toString(), "--init", base.toString(), "--out",
                tmp.resolve("x").toString(), "--backend", "cpu");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("bad.jsonl:4: message 1 is an empty assistant turn").contains("--skip-bad-lines");
        String[] s = run("sft", "--dataset", bad.toString(), "--init", base.toString(), "--out",
                tmp.resolve("x").toString(), "--skip-bad-lines", "--epochs", "1", "--backend", "cpu");
        assertThat(s[0]).as(s[2]).isEqualTo("0");
        assertThat(s[1]).contains("1 bad lines skipped");
    }
}
