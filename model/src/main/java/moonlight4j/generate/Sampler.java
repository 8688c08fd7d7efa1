package moonlight4j.generate;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from one row of logits, as Hugging Face's logits warpers do, in this order:
 * <pre>
 *   temperature = 0:  argmax(logits)                         (ties → the lower id)
 *   otherwise:        z = logits / temperature
 *                     top-k: keep z_i ≥ (k-th largest z)        (k = 0: keep all; ties at the boundary kept)
 *                     p = softmax(z) over the kept ids           (in double)
 *                     top-p: keep the fewest most-probable ids whose mass reaches top_p (at least one)
 *                     draw from the renormalized p with a seeded {@link Random}
 * </pre>
 */
public final class Sampler {

    private final double temperature, topP;
    private final int topK;
    private final Random random;

    /**
     * @param temperature ≥ 0 (0: greedy)
     * @param topK        ≥ 0 (0: off)
     * @param topP        in (0, 1] (1: off)
     * @param seed        seeds this sampler's own {@link Random}
     */
    public Sampler(double temperature, int topK, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number ≥ 0, got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("top-k must be ≥ 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new Random(seed);
    }

    /** Greedy: the index of the largest logit, the lowest index among equals. */
    public static int argmax(float[] logits, int from, int vocab) {
        int best = 0;
        for (int v = 1; v < vocab; v++) if (logits[from + v] > logits[from + best]) best = v;
        return best;
    }

    /** The next token from {@code logits[from, from + vocab)}. */
    public int sample(float[] logits, int from, int vocab) {
        if (temperature == 0) return argmax(logits, from, vocab);
        double[] z = new double[vocab];
        for (int v = 0; v < vocab; v++) z[v] = logits[from + v] / temperature;
        if (topK > 0 && topK < vocab) {
            double[] sorted = z.clone();
            Arrays.sort(sorted);
            double kth = sorted[vocab - topK];
            for (int v = 0; v < vocab; v++) if (z[v] < kth) z[v] = Double.NEGATIVE_INFINITY;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double x : z) max = Math.max(max, x);
        double[] p = new double[vocab];
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            p[v] = Math.exp(z[v] - max);
            sum += p[v];
        }
        for (int v = 0; v < vocab; v++) p[v] /= sum;
        if (topP < 1) {
            Integer[] order = new Integer[vocab];
            for (int v = 0; v < vocab; v++) order[v] = v;
            Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
            double mass = 0;
            int keep = 0;
            while (keep < vocab && (keep == 0 || mass < topP)) mass += p[order[keep++]];
            for (int i = keep; i < vocab; i++) p[order[i]] = 0;
        }
        double total = 0;
        for (double x : p) total += x;
        double u = random.nextDouble() * total;
        double acc = 0;
        int last = -1;
        for (int v = 0; v < vocab; v++) {
            if (p[v] == 0) continue;
            acc += p[v];
            last = v;
            if (u < acc) return v;
        }
        return last;
    }
}
