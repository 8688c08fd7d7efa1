package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * RMSNorm as the release computes it (SPEC §4.2): {@code y = w ⊙ cast(x_f32 · rsqrt(mean(x_f32²) + eps))} over the
 * last axis. HF parameter: {@code <prefix>weight [C]}. eps is {@code rms_norm_eps} for the input, post-attention
 * and final norms, 1e-6 for {@code kv_a_layernorm} / {@code q_a_layernorm}.
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

    // backward(dy): be.rmsNormBackward(saved.x, w, eps, dy) → dx, and dw accumulated into the gradient map (later issue)

    public double eps() {
        return eps;
    }
}
