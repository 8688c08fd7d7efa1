package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.SwiGluGrads;
import moonlight4j.api.Tensor;

/**
 * The SwiGLU MLP used for the dense layers, each routed expert and the shared-expert block (docs/model.md#dense-mlp):
 * {@code FFN(x) = down_proj( silu(gate_proj(x)) ⊙ up_proj(x) )}, no biases. HF parameters under the prefix:
 * {@code gate_proj.weight [I, C]}, {@code up_proj.weight [I, C]}, {@code down_proj.weight [C, I]}.
 */
public final class Mlp extends Layer implements FeedForward {

    private final Backend be;
    private final Parameters params;
    private final String gateProj, upProj, downProj;
    private final int hidden, inter;

    /** Activations kept for backward; act is null where the fused SwiGLU recomputes it (F32, F64). */
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
        boolean fused = g.dtype() != DType.BF16;                                 // BF16: the release's rounding points
        Tensor a = fused ? null : silu(be, g);                                    // (..., I)
        Tensor h = fused ? be.swiglu(g, u) : be.mul(a, u);                        // (..., I) silu(gate) ⊙ up
        Tensor y = Linear.forward(be, h, params.get(downProj, hidden, inter));   // (..., C)
        if (keepForBackward) {
            saved = new Saved(x, g, u, a, h);
        } else {
            saved = null;
            if (a != null) a.close();
            h.close();
        }
        return y;
    }

    /**
     * SiLU at the release's rounding points: BF16 as PyTorch's bf16 kernel computes {@code g / (1 + exp(−g))}, each of
     * its three ops rounded to bf16 (docs/model-bf16.md); F32 and F64 the backend's one-op silu (in the forward, inside
     * the fused {@link Backend#swiglu}). The backward takes the derivative of the exact silu either way (a rounding's
     * derivative is taken as 1).
     */
    static Tensor silu(Backend be, Tensor g) {
        if (g.dtype() != DType.BF16) return be.silu(g);
        try (Tensor negated = be.mulScalar(g, -1.0);                              // exact
             Tensor e = be.exp(negated);                                          // r(exp(−g))
             Tensor denom = be.addScalar(e, 1.0)) {                               // r(1 + e)
            return be.div(g, denom);                                             // r(g / denom)
        }
    }

    /**
     * Backward of {@link #forward} (needs {@code keepForBackward}), with {@code a = silu(g)}, {@code h = a ⊙ u}:
     * <pre>
     *   dW_down = dyᵀ·h,  dh = dy·W_down
     *   da = dh ⊙ u,  du = dh ⊙ a,  dg = da ⊙ σ(g)(1 + g(1 − σ(g)))
     *   dW_gate = dgᵀ·x,  dW_up = duᵀ·x,  dx = dg·W_gate + du·W_up
     * </pre>
     * Weight gradients are accumulated into {@code grads}; returns dx {@code (..., C)}.
     */
    @Override
    public Tensor backward(Tensor dy, Grads grads) {
        Saved sv = saved;
        if (sv == null) throw new IllegalStateException(downProj + ": backward without a recorded forward");
        Tensor wDown = params.get(downProj, hidden, inter), wGate = params.get(gateProj, inter, hidden);
        Tensor wUp = params.get(upProj, inter, hidden);
        Tensor dh = Linear.backward(be, dy, sv.h(), wDown, downProj, grads);     // (..., I)
        Tensor da = null, du, dg;
        if (sv.act() == null) {                                                   // fused: a = silu(g) recomputed
            SwiGluGrads d = be.swigluBackward(sv.gate(), sv.up(), dh);
            dg = d.dGate();
            du = d.dUp();
        } else {
            da = be.mul(dh, sv.up());                                             // (..., I)
            du = be.mul(dh, sv.act());                                            // (..., I)
            dg = be.siluBackward(sv.gate(), da);                                  // (..., I)
        }
        Tensor dxg = Linear.backward(be, dg, sv.x(), wGate, gateProj, grads);    // (..., C)
        Tensor dxu = Linear.backward(be, du, sv.x(), wUp, upProj, grads);        // (..., C)
        Tensor dx = be.add(dxg, dxu);                                             // (..., C)
        for (Tensor t : new Tensor[]{dh, da, du, dg, dxg, dxu, sv.gate(), sv.up(), sv.act(), sv.h()}) {
            if (t != null) t.close();
        }
        saved = null;
        return dx;
    }
}
