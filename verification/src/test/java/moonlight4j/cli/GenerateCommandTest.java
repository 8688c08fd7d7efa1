package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.generate.GenerationConfig;
import moonlight4j.lora.LoraAdapters;
import moonlight4j.lora.LoraConfig;
import moonlight4j.generate.Generator;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GenerateCommandTest {

    @TempDir
    static Path tmp;
    static Path dir;
    static MoonlightModel model;
    static final Backend BE = Backends.get("cpu");

    /** A small random model over the byte vocabulary (514 ids), context 128, saved with its tokenizer. */
    @BeforeAll
    static void saveModel() throws Exception {
        var j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 2).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 514)
                .put("max_position_embeddings", 128).put("eos_token_id", 257)
                .put("initializer_range", 0.5);   // large weights: outputs depend visibly on the prompt
        MoonlightConfig cfg = MoonlightConfig.fromJson(j, "generate test config");
        Parameters p = ModelInit.random(cfg, BE, DType.F32, 21);
        dir = tmp.resolve("model");
        MoonlightCheckpoint.save(dir, cfg, p);
        ByteVocabulary.write(dir);
        model = new MoonlightModel(BE, cfg, p);
    }

    /** rc, stdout, stderr. */
    private static String[] run(String... args) {
        return CliRun.run(args).asArray();
    }

    /** What the generator itself produces for these ids, stop tokens removed, decoded. */
    private static String expected(int[] ids, GenerationConfig cfg) {
        Tokenizer tok = ByteVocabulary.create();
        long[] p = Arrays.stream(ids).asLongStream().toArray();
        long[] got = new Generator(model).generate(new long[][]{p}, cfg.withStopIds(java.util.Set.of(256L, 257L, 258L)),
                false, null).tokens()[0];
        return tok.decode(Arrays.stream(got).filter(t -> t < 256 || t > 258).toArray());
    }

    @Test
    void plainPromptStreamsWhatTheGeneratorProduces() {
        String[] r = run("generate", "--model", dir.toString(), "--prompt", "1+1=2, 1+2=", "--max-new-tokens", "7",
                "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        String want = expected(ByteVocabulary.create().encode("1+1=2, 1+2="), GenerationConfig.greedy(7));
        assertThat(r[1]).isEqualTo("backend: cpu (" + BE.device() + ")\n" + want + "\n");
        assertThat(r[2]).contains("tokens/s").contains("per token compressed");
        // the absorbed cache mode picks the same tokens on this F32 model (logits within 1e-6, CachedGenerationTest)
        String[] a = run("generate", "--model", dir.toString(), "--prompt", "1+1=2, 1+2=", "--max-new-tokens", "7",
                "--mla", "absorb", "--backend", "cpu");
        assertThat(a[1]).isEqualTo(r[1]);
        assertThat(run("generate", "--model", dir.toString(), "--prompt", "1+1=2, 1+2=", "--max-new-tokens", "7",
                "--no-stream", "--backend", "cpu")[1]).isEqualTo(r[1]);
        assertThat(run("generate", "--model", dir.toString(), "--prompt", "x", "--mla", "full")[2])
                .contains("--mla must be recompute or absorb");
    }

    @Test
    void chatRendersTheTemplateWithTheExplicitSystemPromptAndSamplesBySeed() {
        String[] r = run("generate", "--model", dir.toString(), "--prompt", "hi", "--chat", "--system", "be brief",
                "--max-new-tokens", "6", "--temperature", "0.8", "--top-p", "0.9", "--seed", "5", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        int[] ids = ChatTemplate.moonlight().encode(ByteVocabulary.create(),
                List.of(ChatMessage.system("be brief"), ChatMessage.user("hi")), true);
        String want = expected(ids, new GenerationConfig(6, 0.8, 0, 0.9, 5, java.util.Set.of()));
        assertThat(r[1]).endsWith("\n" + want + "\n");
    }

    @Test
    void chatWithAMessagesFileContinuesTheConversation() throws Exception {
        Path f = tmp.resolve("conv.json");
        Files.writeString(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"1+2=\"}, "
                + "{\"role\": \"assistant\", \"content\": \"3\"}, {\"role\": \"user\", \"content\": \"2+2=\"}]}");
        String[] r = run("generate", "--model", dir.toString(), "--chat", "--messages", f.toString(),
                "--max-new-tokens", "5", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        int[] ids = ChatTemplate.moonlight().encode(ByteVocabulary.create(), List.of(ChatMessage.user("1+2="),
                ChatMessage.assistant("3"), ChatMessage.user("2+2=")), true);
        assertThat(r[1]).endsWith("\n" + expected(ids, GenerationConfig.greedy(5)) + "\n");
        Files.writeString(f, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}");
        String[] bad = run("generate", "--model", dir.toString(), "--chat", "--messages", f.toString());
        assertThat(bad[2]).contains("conv.json").contains("unknown role \"robot\"");
        assertThat(run("generate", "--model", dir.toString())[2]).contains("exactly one of --prompt");
    }

    @Test
    void interactiveChatCarriesTheConversationAcrossTurns() {
        java.io.InputStream oldIn = System.in;
        System.setIn(new java.io.ByteArrayInputStream("hi\nthere\n\nignored\n".getBytes(StandardCharsets.UTF_8)));
        String[] r;
        try {
            r = run("generate", "--model", dir.toString(), "--chat", "--interactive", "--system", "s",
                    "--max-new-tokens", "4", "--temperature", "1", "--seed", "7", "--backend", "cpu");
        } finally {
            System.setIn(oldIn);
        }
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        var tok = ByteVocabulary.create();
        var t = ChatTemplate.moonlight();
        var sampled = new GenerationConfig(4, 1.0, 0, 1.0, 7, java.util.Set.of());
        String one = expected(t.encode(tok, List.of(ChatMessage.system("s"), ChatMessage.user("hi")), true), sampled);
        String two = expected(t.encode(tok, List.of(ChatMessage.system("s"), ChatMessage.user("hi"),
                ChatMessage.assistant(one), ChatMessage.user("there")), true), sampled);
        String alone = expected(t.encode(tok, List.of(ChatMessage.system("s"), ChatMessage.user("there")), true), sampled);
        assertThat(two).isNotEqualTo(alone);   // the second reply depends on the first turn
        assertThat(r[1]).isEqualTo("backend: cpu (" + BE.device() + ")\n" + one + "\n" + two + "\n");
        assertThat(run("generate", "--model", dir.toString(), "--interactive")[2]).contains("--interactive needs --chat");
    }

    @Test
    void anAdapterIsMergedBeforeGenerating() throws Exception {
        MoonlightConfig cfg = model.config();
        LoraAdapters fresh = LoraAdapters.init(new LoraConfig(2, 4, List.of("q_proj", "o_proj"), false, null), cfg, BE,
                DType.F32, 1);
        Path freshDir = tmp.resolve("fresh-adapter");
        fresh.save(freshDir);
        String[] base = run("generate", "--model", dir.toString(), "--prompt", "abc", "--max-new-tokens", "6", "--backend", "cpu");
        String[] same = run("generate", "--model", dir.toString(), "--prompt", "abc", "--max-new-tokens", "6",
                "--adapter", freshDir.toString(), "--backend", "cpu");
        assertThat(same[1]).isEqualTo(base[1]);              // B = 0: the adapted model is the base model
        assertThat(same[2]).contains("r 2, alpha 4.0, 4 weights merged");
        for (String w : fresh.targets()) {                   // move B away from zero, as training would
            Tensor b = fresh.parameters().get(LoraAdapters.peftName(w, false));
            float[] v = new float[(int) b.numel()];
            java.util.Random rnd = new java.util.Random(w.hashCode());
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            BE.axpyInPlace(b, 0.5, BE.fromFloats(v, b.shape()));
        }
        Path trainedDir = tmp.resolve("trained-adapter");
        fresh.save(trainedDir);
        String[] adapted = run("generate", "--model", dir.toString(), "--prompt", "abc", "--max-new-tokens", "6",
                "--adapter", trainedDir.toString(), "--backend", "cpu");
        assertThat(adapted[1]).isNotEqualTo(base[1]);
        MoonlightModel merged = new MoonlightModel(BE, cfg, LoraAdapters.load(trainedDir, cfg, BE)
                .merged(BE, model.parameters()));
        long[] p = Arrays.stream(ByteVocabulary.create().encode("abc")).asLongStream().toArray();
        long[] want = new Generator(merged).generate(new long[][]{p}, GenerationConfig.greedy(6)
                .withStopIds(java.util.Set.of(256L, 257L, 258L)), false, null).tokens()[0];
        assertThat(adapted[1]).endsWith("\n" + ByteVocabulary.create().decode(Arrays.stream(want)
                .filter(t -> t < 256 || t > 258).toArray()) + "\n");
    }

    @Test
    void stopIdsAreEosImEndAndTheConfigsSpecialEos() {
        Tokenizer tok = ByteVocabulary.create();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertThat(GenerateCommand.stopIds(tok, json.valueToTree(List.of(2, 262)))).containsExactly(257L, 258L, 262L);
        assertThat(GenerateCommand.stopIds(tok, null)).containsExactly(257L, 258L);
    }

    @Test
    void missingTokenizerFileIsNamed() throws Exception {
        Path copy = tmp.resolve("no-tokenizer");
        Files.createDirectories(copy);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("tiktoken.model")) Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        String[] r = run("generate", "--model", copy.toString(), "--prompt", "x", "--backend", "cpu");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("no tokenizer file tiktoken.model");
    }

    @Test
    void aPromptLongerThanTheContextIsAnErrorUnlessTruncated() {
        String longPrompt = "x".repeat(140);
        String[] r = run("generate", "--model", dir.toString(), "--prompt", longPrompt, "--backend", "cpu");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("140 tokens").contains("context of 128").contains("--truncate");
        String[] t = run("generate", "--model", dir.toString(), "--prompt", longPrompt, "--truncate",
                "--max-new-tokens", "3", "--backend", "cpu");
        assertThat(t[0]).as(t[2]).isEqualTo("0");
        assertThat(t[2]).contains("prompt truncated from 140 to its last 125 tokens");
    }
}
