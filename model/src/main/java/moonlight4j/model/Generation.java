package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * Greedy decoding by full re-run (golden-data/FORMAT.md §3.10): for each new token the whole sequence goes through
 * {@link MoonlightModel#forward(Tensor)} and the arg-max of the last position's logits is appended. No EOS stop.
 * Exact against the release's {@code use_cache=False} loop and slow (the whole sequence again per token): the plain
 * reference that the cached generator ({@code moonlight4j.generate.Generator} over {@link MlaCache}) is tested against.
 */
public final class Generation {

    /** New tokens {@code ids (B, n)} and the last-position logits {@code (B, n, V)} at each step (flattened). */
    public record Greedy(long[] ids, float[] stepLogits, int batch, int steps, int vocab) {
    }

    private Generation() {
    }

    /** Greedy continuation of {@code prompt (B, T)} by {@code steps} tokens; ties go to the lower token id. */
    public static Greedy greedy(MoonlightModel model, long[][] prompt, int steps) {
        Backend be = model.backend();
        int b = prompt.length, t0 = prompt[0].length, vocab = model.config().vocabSize();
        long[][] seq = new long[b][];
        for (int i = 0; i < b; i++) {
            if (prompt[i].length != t0) throw new IllegalArgumentException("prompt rows must have equal length");
            seq[i] = java.util.Arrays.copyOf(prompt[i], t0 + steps);
        }
        long[] out = new long[b * steps];
        float[] stepLogits = new float[b * steps * vocab];
        for (int k = 0; k < steps; k++) {
            int t = t0 + k;
            long[] flat = new long[b * t];
            for (int i = 0; i < b; i++) System.arraycopy(seq[i], 0, flat, i * t, t);
            float[] logits;
            try (Tensor ids = be.fromLongs(flat, b, t);
                 Tensor all = model.forward(ids);                                 // (B, t, V)
                 Tensor last = be.slice(all, 1, t - 1, t)) {                       // (B, 1, V)
                logits = be.toFloats(last);
            }
            for (int i = 0; i < b; i++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) if (logits[i * vocab + v] > logits[i * vocab + best]) best = v;
                seq[i][t] = best;
                out[i * steps + k] = best;
                System.arraycopy(logits, i * vocab, stepLogits, (i * steps + k) * vocab, vocab);
            }
        }
        return new Greedy(out, stepLogits, b, steps, vocab);
    }
}
