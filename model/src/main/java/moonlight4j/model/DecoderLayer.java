package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * One pre-norm decoder layer (docs/model.md#forward-pass):
 * {@code h = x + Attn(RMSNorm_in(x))}, {@code out = h + FFN(RMSNorm_post(h))}, FFN = dense {@link Mlp} or
 * {@link Moe}. HF prefix {@code model.layers.{i}.}: {@code input_layernorm}, {@code self_attn},
 * {@code post_attention_layernorm}, {@code mlp}.
 */
public final class DecoderLayer extends Layer {

    private final Backend be;
    private final int index;
    private final RmsNorm inputNorm, postNorm;
    private final MlaAttention attention;
    private final FeedForward ffn;

    /** Activations kept for backward: the layer input and the residual after attention. */
    record Saved(Tensor x, Tensor h) {
    }

    private Saved saved;

    public DecoderLayer(Backend be, Parameters params, MoonlightConfig cfg, int index) {
        this.be = be;
        this.index = index;
        String p = "model.layers." + index + ".";
        this.inputNorm = new RmsNorm(be, params, p + "input_layernorm.", cfg.hiddenSize(), cfg.rmsNormEps());
        this.postNorm = new RmsNorm(be, params, p + "post_attention_layernorm.", cfg.hiddenSize(), cfg.rmsNormEps());
        this.attention = new MlaAttention(be, params, p + "self_attn.", cfg);
        this.ffn = cfg.isMoeLayer(index)
                ? new Moe(be, params, p + "mlp.", cfg)
                : new Mlp(be, params, p + "mlp.", cfg.hiddenSize(), cfg.intermediateSize());
    }

    /** x {@code (B, T, C)} → {@code (B, T, C)}. */
    public Tensor forward(Tensor x, Tensor positionIds, Tensor mask) {
        return forwardBranches(x, positionIds, mask).output();
    }

    /**
     * The two branch outputs of a forward before their residual adds — the attention output (after o_proj) and the
     * MLP / MoE output (shared experts included) — and the layer output; each {@code (B, T, C)}.
     */
    public record Branches(Tensor attnOutput, Tensor mlpOutput, Tensor output) {
    }

    /** {@link #forward}, also returning the branch outputs (golden-data FORMAT §3.12 checks them). */
    public Branches forwardBranches(Tensor x, Tensor positionIds, Tensor mask) {
        Tensor a = attention.forward(inputNorm.forward(x), positionIds, mask);   // (B, T, C) attention
        Tensor h = be.add(x, a);                                                 // (B, T, C) residual
        Tensor f = ffn.forward(postNorm.forward(h));                             // (B, T, C) MLP or MoE
        Tensor out = be.add(h, f);                                               // (B, T, C) residual
        saved = keepForBackward ? new Saved(x, h) : null;
        return new Branches(a, f, out);
    }

    /**
     * Backward of {@link #forward} (needs {@code keepForBackward}), in reverse order:
     * {@code dh = dout + RMSNorm_post.backward(FFN.backward(dout))},
     * {@code dx = dh + RMSNorm_in.backward(Attn.backward(dh))}. Weight gradients go into {@code grads}.
     */
    public Tensor backward(Tensor dout, Grads grads) {
        if (saved == null) throw new IllegalStateException("layer " + index + ": backward without a recorded forward");
        Tensor dNormedH = ffn.backward(dout, grads);                             // (B, T, C)
        Tensor dhFfn = postNorm.backward(dNormedH, grads);                       // (B, T, C)
        Tensor dh = be.add(dout, dhFfn);                                         // (B, T, C)
        Tensor dNormedX = attention.backward(dh, grads);                         // (B, T, C)
        Tensor dxAttn = inputNorm.backward(dNormedX, grads);                     // (B, T, C)
        Tensor dx = be.add(dh, dxAttn);                                          // (B, T, C)
        for (Tensor t : new Tensor[]{dNormedH, dhFfn, dh, dNormedX, dxAttn}) t.close();
        saved = null;
        return dx;
    }

    public int index() {
        return index;
    }

    public boolean isMoe() {
        return ffn instanceof Moe;
    }

    public FeedForward ffn() {
        return ffn;
    }

    public MlaAttention attention() {
        return attention;
    }

    @Override
    void keepForBackward(boolean on) {
        super.keepForBackward(on);
        inputNorm.keepForBackward(on);
        postNorm.keepForBackward(on);
        attention.keepForBackward(on);
        ((Layer) ffn).keepForBackward(on);
    }
}
