package moonlight4j.reliability;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.cli.CliRun;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.tokenizer.ByteVocabulary;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the training and fine-tuning reliability cases share: the command line in-process, small models and data. */
final class TrainFixtures {

    static final Backend BE = Backends.get("cpu");

    private TrainFixtures() {
    }

    /** The exit code, stdout and stderr of {@code moonlight args...}. */
    static CliRun.Result run(String... args) {
        return CliRun.run(args);
    }

    /** A text file of sums for {@code train --dataset FILE.txt} (byte tokens). */
    static Path text(Path dir) throws IOException {
        Path f = dir.resolve("sums.txt");
        Files.writeString(f, "1+1=2, 1+2=3, 2+2=4, 3+5=8, ".repeat(40));
        return f;
    }

    /** A small random MoE model over the byte vocabulary with its tokenizer files, for fine-tuning. */
    static Path chatModel(Path dir) throws IOException {
        var j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 2).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 514)
                .put("max_position_embeddings", 128);
        MoonlightConfig cfg = MoonlightConfig.fromJson(j, "reliability test model");
        Path base = dir.resolve("base");
        MoonlightCheckpoint.save(base, cfg, ModelInit.random(cfg, BE, DType.F32, 3));
        ByteVocabulary.write(base);
        return base;
    }

    /** The first {@code n} conversations of the shipped example. */
    static Path chat(Path dir, int n) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("..", "examples", "sft-arithmetic-chat.jsonl"));
        Path data = dir.resolve("chat.jsonl");
        Files.write(data, lines.subList(0, n));
        return data;
    }

    /** The first tensor of a safetensors model directory (or file) holding a NaN/Inf, or null. */
    static String firstNonFinite(Path modelDir) throws IOException {
        MoonlightCheckpoint.Loaded l = MoonlightCheckpoint.load(modelDir, BE);
        try {
            for (String n : l.parameters().names()) if (!BE.allFinite(l.parameters().get(n))) return n;
            return null;
        } finally {
            l.parameters().asMap().values().forEach(Tensor::close);
        }
    }

    /** The first tensor of a safetensors file holding a NaN/Inf, or null. */
    static String firstNonFiniteIn(Path safetensors) throws IOException {
        try (SafetensorsFile f = Safetensors.open(safetensors)) {
            for (String n : f.names()) {
                try (Tensor t = f.load(BE, n)) {
                    if (t.dtype().isFloating() && !BE.allFinite(t)) return n;
                }
            }
            return null;
        }
    }
}
