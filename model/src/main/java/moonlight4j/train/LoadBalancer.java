package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.DecoderLayer;
import moonlight4j.model.Moe;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Aux-loss-free load balancing (docs/model.md#load-balancing, Moonlight's variant of DeepSeek-V3's rule), per MoE layer
 * and optimizer step:
 * <pre>
 *   c_i = number of (token, slot) selections of expert i over the step's global batch (every micro-batch)
 *   e_i = mean(c) − c_i            (&gt; 0: under-loaded);   σ_i = sign(e_i)
 *   b_i ← b_i + u · (σ_i − mean_j σ_j)                       after the optimizer step
 * </pre>
 * The bias {@code e_score_correction_bias} stays outside the optimizer (no gradient, no weight decay). The counts are
 * read from each {@link Moe}'s last routing after every micro-batch forward.
 */
public final class LoadBalancer {

    private final Backend be;
    private final MoonlightModel model;
    private final double rate;
    private final Map<Integer, long[]> counts = new LinkedHashMap<>();

    /** @param rate u, the bias update speed (1e-3 in Moonlight stages 1–2; 0 disables the update) */
    public LoadBalancer(Backend be, MoonlightModel model, double rate) {
        if (!(rate >= 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("--bias-update must be a finite value ≥ 0, got " + rate);
        }
        this.be = be;
        this.model = model;
        this.rate = rate;
    }

    /** Adds the selections of the last forward of every MoE layer. */
    public void count() {
        for (DecoderLayer l : model.layers()) {
            if (!l.isMoe()) continue;
            Moe moe = (Moe) l.ffn();
            long[] c = counts.computeIfAbsent(l.index(), i -> new long[moe.gate().experts()]);
            for (long e : be.toLongs(moe.lastRouting().topkIdx())) c[(int) e]++;
        }
    }

    /**
     * Data parallelism: replaces each layer's counts by {@code sum.apply(counts)}, their sum over ranks, so the
     * bias update uses the load of the global batch (every rank then applies the same update).
     */
    public void sumOverRanks(java.util.function.UnaryOperator<long[]> sum) {
        for (DecoderLayer l : model.layers()) {        // every MoE layer, zeros where this rank routed nothing, so all
            if (l.isMoe()) {                           // ranks reduce the same layers in the same order
                counts.computeIfAbsent(l.index(), i -> new long[((Moe) l.ffn()).gate().experts()]);
            }
        }
        counts.replaceAll((layer, c) -> sum.apply(c));
    }

    /** Per-layer statistics of the counted step. */
    public record Stats(Map<Integer, long[]> load, double maxViolation) {
    }

    /**
     * Applies the bias update for the counted step and resets the counts. Returns the per-layer loads and the
     * largest violation {@code max_i |c_i − mean(c)| / mean(c)} over all layers (0 for a dense model).
     */
    public Stats update() {
        double maxViolation = 0;
        Parameters params = model.parameters();
        Map<Integer, long[]> load = new LinkedHashMap<>(counts);
        for (Map.Entry<Integer, long[]> e : counts.entrySet()) {
            long[] c = e.getValue();
            int n = c.length;
            double mean = 0;
            for (long x : c) mean += x;
            mean /= n;
            double[] sign = new double[n];
            double meanSign = 0;
            for (int i = 0; i < n; i++) {
                sign[i] = Math.signum(mean - c[i]);
                meanSign += sign[i];
                if (mean > 0) maxViolation = Math.max(maxViolation, Math.abs(c[i] - mean) / mean);
            }
            meanSign /= n;
            if (rate == 0) continue;
            float[] delta = new float[n];
            for (int i = 0; i < n; i++) delta[i] = (float) (rate * (sign[i] - meanSign));
            Tensor bias = params.get("model.layers." + e.getKey() + ".mlp.gate.e_score_correction_bias");
            try (Tensor d = be.fromFloats(delta, n)) {
                be.axpyInPlace(bias, 1.0, d);
            }
        }
        counts.clear();
        return new Stats(load, maxViolation);
    }
}
