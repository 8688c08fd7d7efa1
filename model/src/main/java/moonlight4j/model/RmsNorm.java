package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * RMSNorm as the release computes it (docs/model.md#rmsnorm): {@code y = w ⊙ cast(x_f32 · rsqrt(mean(x_f32²) + eps))}
 * over the last axis. HF parameter: {@code <prefix>weight [C]}. eps is {@code rms_norm_eps} for the input,
 * post-attention and final norms, 1e-6 for {@code kv_a_layernorm} / {@code q_a_layernorm}.
 */
public final class RmsNorm extends Layer {

    private final Backend be;
    private final Parameters params;
    private final String weight;
    private final int dim;
    private final double eps;

    /** Activations kept for backward: the input x {@code (..., C)}. */
    record Saved(Tensor x) {
    }

    private Saved saved;

    /** @param prefix the module's HF prefix, e.g. {@code model.layers.0.input_layernorm.} */
    public RmsNorm(Backend be, Parameters params, String prefix, int dim, double eps) {
        this.be = be;
        this.params = params;
        this.weight = prefix + "weight";
        this.dim = dim;
        this.eps = eps;
    }

    /** x {@code (..., C)} → y {@code (..., C)}. */
    public Tensor forward(Tensor x) {
        Tensor w = params.get(weight, dim);                      // (C)
        saved = keepForBackward ? new Saved(x) : null;
        return be.rmsNorm(x, w, eps);                            // (..., C)
    }

    /**
     * Backward of {@link #forward} (needs {@code keepForBackward}). With {@code r = rsqrt(mean(x²) + eps)},
     * {@code n = x·r}: {@code dw = Σ_rows dy ⊙ n} (accumulated into {@code grads}) and
     * {@code dx = r·(g − n·mean(g ⊙ n))}, {@code g = dy ⊙ w}. Returns dx {@code (..., C)}.
     */
    public Tensor backward(Tensor dy, Grads grads) {
        if (saved == null) throw new IllegalStateException(weight + ": backward without a recorded forward");
        Tensor w = params.get(weight, dim);
        moonlight4j.api.RmsNormGrads g = be.rmsNormBackward(saved.x(), w, eps, dy);
        grads.accumulate(be, weight, g.dw());
        saved = null;
        return g.dx();
    }

    /** The output of the recorded forward, recomputed from the kept input (same op, same result). */
    Tensor recomputeOutput() {
        if (saved == null) throw new IllegalStateException(weight + ": no recorded forward");
        return be.rmsNorm(saved.x(), params.get(weight, dim), eps);
    }

    public double eps() {
        return eps;
    }
}
