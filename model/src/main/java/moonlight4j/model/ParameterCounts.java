package moonlight4j.model;

import moonlight4j.api.Shapes;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parameter counts derived from a config through {@link ModelShapes} (docs/model.md#parameter-counts). "Activated"
 * counts, per MoE layer, only {@code num_experts_per_tok} of the {@code n_routed_experts} routed experts (all experts
 * of a layer have the same size); the router weight, its bias and the shared experts are always active.
 *
 * @param total                 every parameter
 * @param embedding             {@code embed_tokens} + {@code lm_head}
 * @param nonEmbedding          total − embedding (the paper's "15.29B")
 * @param activatedNonEmbedding non-embedding parameters one token uses (the paper's "2.24B")
 */
public record ParameterCounts(long total, long embedding, long nonEmbedding, long activatedNonEmbedding) {

    private static final Pattern EXPERT = Pattern.compile("model\\.layers\\.(\\d+)\\.mlp\\.experts\\.\\d+\\..*");

    /** Activated parameters including the embedding and the head. */
    public long activated() {
        return activatedNonEmbedding + embedding;
    }

    public static ParameterCounts of(MoonlightConfig c) {
        long total = 0, embedding = 0, routed = 0;
        for (Map.Entry<String, int[]> e : ModelShapes.expected(c).entrySet()) {
            long n = Shapes.numel(e.getValue());
            total += n;
            if (ModelShapes.isEmbedding(e.getKey())) embedding += n;
            Matcher m = EXPERT.matcher(e.getKey());
            if (m.matches()) routed += n;
        }
        long nonEmbedding = total - embedding;
        // routed = (#MoE layers)·E·perExpert; activated keeps k of the E experts: routed·k/E, an exact division
        long activatedRouted = routed == 0 ? 0 : routed / c.nRoutedExperts() * c.numExpertsPerTok();
        return new ParameterCounts(total, embedding, nonEmbedding, nonEmbedding - routed + activatedRouted);
    }
}
