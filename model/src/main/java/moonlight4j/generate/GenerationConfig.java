package moonlight4j.generate;

import java.util.Set;

/**
 * How to continue a prompt.
 *
 * @param maxNewTokens at most this many new tokens per row (≥ 0)
 * @param temperature  0 for greedy, else the softmax temperature ({@link Sampler})
 * @param topK         0 for off
 * @param topP         1 for off
 * @param seed         row i samples with its own {@code Random(seed + i)}, so a row of a batch draws what the same
 *                     prompt alone draws with seed {@code seed + i}
 * @param stopIds      a row stops after producing one of these (kept as its last token), e.g. EOS and
 *                     {@code <|im_end|>}
 */
public record GenerationConfig(int maxNewTokens, double temperature, int topK, double topP, long seed,
                               Set<Long> stopIds) {

    public GenerationConfig {
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be ≥ 0, got " + maxNewTokens);
        new Sampler(temperature, topK, topP, seed); // validates the sampling parameters
        stopIds = Set.copyOf(stopIds);
    }

    /** Greedy decoding of {@code maxNewTokens} tokens without stop tokens (golden-data/FORMAT.md §3.10). */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0, 0, 1, 0, Set.of());
    }

    public GenerationConfig withStopIds(Set<Long> ids) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, ids);
    }
}
