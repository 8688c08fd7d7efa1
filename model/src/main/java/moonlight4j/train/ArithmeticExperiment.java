package moonlight4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.data.ArithmeticCorpus;
import moonlight4j.data.ByteTokens;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.Generation;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The embedded default ({@code ./moonlight train} without arguments): the {@code tiny} preset with the byte-level
 * vocabulary (vocab_size 514 = 256 bytes + Moonlight's 258 special ids) on the {@link ArithmeticCorpus}, trained
 * once with Muon and once with AdamW from the same initial weights, data order and token budget.
 */
public final class ArithmeticExperiment {

    /** The vocabulary size of the byte-level tokenizer (256 byte ranks + 258 special tokens). */
    public static final int VOCAB = 514;

    private ArithmeticExperiment() {
    }

    /** tiny, with the byte vocabulary. */
    public static MoonlightConfig config() {
        return byteVocabularyConfig("tiny");
    }

    /**
     * A preset with the byte-level vocabulary: {@code vocab_size} 514 and the tokenizer's own {@code [BOS]} and
     * {@code [EOS]} ids (256/257) as {@code bos_token_id}/{@code eos_token_id}, so that a model directory written with
     * this config makes Hugging Face {@code generate()} stop at the same token as ours.
     */
    public static MoonlightConfig byteVocabularyConfig(String preset) {
        Tokenizer tok = ByteVocabulary.create();
        ObjectNode j = MoonlightConfig.preset(preset).toJson();
        j.put("vocab_size", VOCAB).put("bos_token_id", tok.bosId()).put("eos_token_id", tok.eosId());
        return MoonlightConfig.fromJson(j, "preset " + preset + " with the byte-level vocabulary");
    }

    /** The training split as packed chunks of {@code seqLen} bytes. */
    public static TokenDataset trainSet(long seed, int seqLen) {
        return new TokenDataset("arithmetic/train",
                ByteTokens.encode(ArithmeticCorpus.text(ArithmeticCorpus.trainFacts(seed))), seqLen);
    }

    /** The held-out split (two-digit sums never trained on) as packed chunks. */
    public static TokenDataset heldOutSet(int seqLen) {
        return new TokenDataset("arithmetic/held-out",
                ByteTokens.encode(ArithmeticCorpus.text(ArithmeticCorpus.heldOutFacts())), seqLen);
    }

    /** Fresh weights for the experiment (fp32, seeded). */
    public static Parameters init(Backend be, MoonlightConfig cfg, long seed) {
        return ModelInit.random(cfg, be, DType.F32, seed);
    }

    /**
     * Greedy completion of {@code prompt} by up to {@code maxNew} bytes, stopped at the first {@code ','}.
     */
    public static String complete(MoonlightModel model, String prompt, int maxNew) {
        long[] p = ByteTokens.encode(prompt);
        Generation.Greedy g = Generation.greedy(model, new long[][]{p}, maxNew);
        String s = ByteTokens.decode(g.ids());
        int comma = s.indexOf(',');
        return comma >= 0 ? s.substring(0, comma) : s;
    }

    /**
     * Exact-match accuracy on the first {@code n} held-out facts: the few-shot prompt {@code "1+1=2, a+b="}, greedy,
     * the answer must be followed by {@code ','} (prompts of equal length are decoded as one batch).
     */
    public static double heldOutAccuracy(MoonlightModel model, int n) {
        List<ArithmeticCorpus.Fact> facts = ArithmeticCorpus.heldOutFacts().subList(0, n);
        Map<Integer, List<ArithmeticCorpus.Fact>> byLen = new LinkedHashMap<>();
        for (ArithmeticCorpus.Fact f : facts) {
            byLen.computeIfAbsent(ArithmeticCorpus.fewShot(f).length(), k -> new ArrayList<>()).add(f);
        }
        int correct = 0;
        for (List<ArithmeticCorpus.Fact> group : byLen.values()) {
            long[][] prompts = new long[group.size()][];
            for (int i = 0; i < prompts.length; i++) prompts[i] = ByteTokens.encode(ArithmeticCorpus.fewShot(group.get(i)));
            int steps = 4;                                            // up to 3 digits and the ','
            Generation.Greedy g = Generation.greedy(model, prompts, steps);
            for (int i = 0; i < prompts.length; i++) {
                long[] row = java.util.Arrays.copyOfRange(g.ids(), i * steps, (i + 1) * steps);
                String s = ByteTokens.decode(row);
                String want = group.get(i).answer() + ",";
                if (s.startsWith(want)) correct++;
            }
        }
        return (double) correct / n;
    }
}
