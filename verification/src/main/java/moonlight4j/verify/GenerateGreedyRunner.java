package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.Generation;
import moonlight4j.model.MoonlightModel;

import java.util.Map;

/** {@code generate_greedy} (FORMAT §3.10): {@link Generation#greedy} by full re-run, no EOS stop. */
final class GenerateGreedyRunner implements CaseRunner {

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
        Generation.Greedy g = Generation.greedy(model, prompt, steps);
        return Map.of("out.generated_ids", be.fromLongs(g.ids(), g.batch(), g.steps()),
                "out.step_logits", be.fromFloats(g.stepLogits(), g.batch(), g.steps(), g.vocab()));
    }
}
