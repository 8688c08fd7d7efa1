package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * The SwiGLU MLP used for the dense layers, each routed expert and the shared-expert block (SPEC §4.6):
 * {@code FFN(x) = down_proj( silu(gate_proj(x)) ⊙ up_proj(x) )}, no biases. HF parameters under the prefix:
 * {@code gate_proj.weight [I, C]}, {@code up_proj.weight [I, C]}, {@code down_proj.weight [C, I]}.
 */
public final class Mlp extends Layer implements FeedForward {

    private final Backend be;
    private final Parameters params;
    private final String gateProj, upProj, downProj;
    private final int hidden, inter;

    /** Activations kept for backward. */
    record Saved(Tensor x, Tensor gate, Tensor up, Tensor act, Tensor h) {
    }

    private Saved saved;

    /** @param prefix e.g. {@code model.layers.0.mlp.} or {@code model.layers.3.mlp.experts.17.} */
    public Mlp(Backend be, Parameters params, String prefix, int hidden, int inter) {
        this.be = be;
        this.params = params;
        this.gateProj = prefix + "gate_proj.weight";
        this.upProj = prefix + "up_proj.weight";
        this.downProj = prefix + "down_proj.weight";
        this.hidden = hidden;
        this.inter = inter;
    }

    /** x {@code (..., C)} → {@code (..., C)}. */
    @Override
    public Tensor forward(Tensor x) {
        Tensor g = Linear.forward(be, x, params.get(gateProj, inter, hidden));   // (..., I)
        Tensor u = Linear.forward(be, x, params.get(upProj, inter, hidden));     // (..., I)
        Tensor a = be.silu(g);                                                    // (..., I)
        Tensor h = be.mul(a, u);                                                  // (..., I) silu(gate) ⊙ up
        Tensor y = Linear.forward(be, h, params.get(downProj, hidden, inter));   // (..., C)
        if (keepForBackward) {
            saved = new Saved(x, g, u, a, h);
        } else {
            saved = null;
            a.close();
            h.close();
        }
        return y;
    }

    // backward(dy): dW_down = dyᵀ·h, dh = dy·W_down; da = dh ⊙ up, du = dh ⊙ a; dg = siluBackward(g, da); ... (later issue)
}
