package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.generate.GenerationConfig;
import moonlight4j.generate.Generator;
import moonlight4j.model.MlaDecoding;
import moonlight4j.model.MoonlightModel;

import java.util.Map;

/**
 * {@code generate_greedy} (golden-data/FORMAT.md §3.10) through the cached generator ({@link Generator}: prefill +
 * one-token steps over the compressed MLA cache), greedy, no EOS stop. The release ran full re-runs ({@code
 * use_cache=False}); the full re-run ({@link moonlight4j.model.Generation}) stays the reference of
 * CachedGenerationTest.
 */
final class GenerateGreedyRunner implements CaseRunner {

    private final MlaDecoding mode;

    /** The verified path: {@link MlaDecoding#RECOMPUTE}. */
    GenerateGreedyRunner() {
        this(MlaDecoding.RECOMPUTE);
    }

    GenerateGreedyRunner(MlaDecoding mode) {
        this.mode = mode;
    }

    @Override
    public String kind() {
        return "generate_greedy";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        MoonlightModel model = new MoonlightModel(be, ModelCases.config(c), ModelCases.params(c, be));
        int steps = c.config("max_new_tokens").intValue();
        int[] s = c.info("in.input_ids").shape();
        long[] flat = c.longs("in.input_ids");
        long[][] prompt = new long[s[0]][s[1]];
        for (int i = 0; i < s[0]; i++) System.arraycopy(flat, i * s[1], prompt[i], 0, s[1]);
        Generator.Result g = new Generator(model, mode).generate(prompt, GenerationConfig.greedy(steps), true, null);
        int b = s[0], vocab = model.config().vocabSize();
        long[] ids = new long[b * steps];
        float[] logits = new float[b * steps * vocab];
        for (int i = 0; i < b; i++) {
            System.arraycopy(g.tokens()[i], 0, ids, i * steps, steps);
            System.arraycopy(g.stepLogits()[i], 0, logits, i * steps * vocab, steps * vocab);
        }
        return Map.of("out.generated_ids", be.fromLongs(ids, b, steps),
                "out.step_logits", be.fromFloats(logits, b, steps, vocab));
    }
}
