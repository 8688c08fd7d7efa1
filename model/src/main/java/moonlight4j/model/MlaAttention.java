package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.Arrays;

/**
 * Multi-head latent attention, {@code DeepseekV3Attention} (docs/model.md#mla-attention, golden-data/FORMAT.md §3.6),
 * eager path:
 * <pre>
 *   q            = q_proj(x)  or  q_b_proj(q_a_layernorm(q_a_proj(x)))     (B, T, H·(dn+dr))
 *   [c_kv | k_pe] = kv_a_proj_with_mqa(x)                                   (B, T, r + dr); k_pe one shared head
 *   [k_nope | v]  = kv_b_proj(kv_a_layernorm(c_kv))                         (B, T, H·(dn+dv))
 *   q_pe, k_pe   ← RoPE (input interleaved pairs, output HF half-split, docs/model.md#rope-layout)
 *   Q = [q_nope | q_pe], K = [k_nope | k_pe broadcast to every head]         (B, H, T, dn+dr)
 *   P = softmax_fp32(Q·Kᵀ · (dn+dr)^−½ + mask)                               (B, H, T, T)
 *   out = o_proj( (P·V) as (B, T, H·dv) )
 * </pre>
 * kv_a_layernorm and q_a_layernorm use eps 1e-6, not rms_norm_eps (docs/model.md#rmsnorm). Letters: B batch, T time, C
 * hidden, H heads, dn = qk_nope_head_dim, dr = qk_rope_head_dim, dv = v_head_dim, r = kv_lora_rank, rq = q_lora_rank.
 */
public final class MlaAttention extends Layer {

    private final Backend be;
    private final Parameters params;
    private final String p;
    private final int c, h, dn, dr, dv, r;
    private final Integer rq;
    private final double theta, scale;
    private final RmsNorm qaNorm, kvaNorm;

    /** Activations kept for backward. */
    record Saved(Tensor x, Tensor q, Tensor ckv, Tensor kv, Tensor queries, Tensor keys, Tensor values,
                 Tensor probs, Tensor attn, Tensor positionIds) {
    }

    private Saved saved;

    /** Largest unmasked attention logit {@code scale·q·k} of the last training-mode forward (docs/model.md#attention-scores). */
    private double lastMaxLogit = Double.NaN;

    /** Largest attention logit of the last forward in training mode (NaN before one). */
    public double lastMaxLogit() {
        return lastMaxLogit;
    }

    /** @param prefix e.g. {@code model.layers.0.self_attn.} (empty in module-level golden cases) */
    public MlaAttention(Backend be, Parameters params, String prefix, MoonlightConfig cfg) {
        this.be = be;
        this.params = params;
        this.p = prefix;
        this.c = cfg.hiddenSize();
        this.h = cfg.numAttentionHeads();
        this.dn = cfg.qkNopeHeadDim();
        this.dr = cfg.qkRopeHeadDim();
        this.dv = cfg.vHeadDim();
        this.r = cfg.kvLoraRank();
        this.rq = cfg.qLoraRank();
        this.theta = cfg.ropeTheta();
        this.scale = cfg.softmaxScale();
        this.qaNorm = rq == null ? null
                : new RmsNorm(be, params, prefix + "q_a_layernorm.", rq, MoonlightConfig.LATENT_NORM_EPS);
        this.kvaNorm = new RmsNorm(be, params, prefix + "kv_a_layernorm.", r, MoonlightConfig.LATENT_NORM_EPS);
    }

    /**
     * The query projection, shared with cached decoding:
     * {@code q = q_proj(x)}, or with the low-rank query {@code q_b_proj(q_a_layernorm(q_a_proj(x)))}.
     *
     * @param x {@code (B, n, C)}
     * @return {@code (B, n, H·(dn+dr))}
     */
    Tensor query(Tensor x) {
        int dq = dn + dr;
        if (rq == null) return Linear.forward(be, x, params.get(p + "q_proj.weight", h * dq, c));
        Tensor qa = Linear.forward(be, x, params.get(p + "q_a_proj.weight", rq, c));            // (B, n, rq)
        return Linear.forward(be, qaNorm.forward(qa), params.get(p + "q_b_proj.weight", h * dq, rq));
    }

    /**
     * @param x           hidden states {@code (B, T, C)}
     * @param positionIds {@code (B, T)} I64
     * @param mask        additive mask {@code (B or 1, 1, T, T)} in x's dtype (see {@link AttentionMask})
     * @return {@code (B, T, C)}
     */
    public Tensor forward(Tensor x, Tensor positionIds, Tensor mask) {
        int[] s = x.shape();
        if (s.length != 3 || s[2] != c) {
            throw new IllegalArgumentException("attention " + p + ": expected hidden states (B, T, " + c + "), got "
                    + Arrays.toString(s));
        }
        int b = s[0], t = s[1], dq = dn + dr;

        Tensor q = query(x);                                                                  // (B, T, H·dq)
        Tensor qh = be.permute(be.reshape(q, b, t, h, dq), 0, 2, 1, 3);                       // (B, H, T, dq)
        Tensor qNope = be.slice(qh, -1, 0, dn);                                               // (B, H, T, dn)
        Tensor qPe = be.slice(qh, -1, dn, dq);                                                // (B, H, T, dr)

        // compressed kv and the shared rope key
        Tensor ckv = Linear.forward(be, x, params.get(p + "kv_a_proj_with_mqa.weight", r + dr, c)); // (B, T, r+dr)
        Tensor cKv = be.slice(ckv, -1, 0, r);                                                 // (B, T, r)
        Tensor kPe = be.reshape(be.slice(ckv, -1, r, r + dr), b, 1, t, dr);                   // (B, 1, T, dr)
        Tensor kv = Linear.forward(be, kvaNorm.forward(cKv),
                params.get(p + "kv_b_proj.weight", h * (dn + dv), r));                        // (B, T, H·(dn+dv))
        Tensor kvh = be.permute(be.reshape(kv, b, t, h, dn + dv), 0, 2, 1, 3);               // (B, H, T, dn+dv)
        Tensor kNope = be.slice(kvh, -1, 0, dn);                                              // (B, H, T, dn)
        Tensor v = be.slice(kvh, -1, dn, dn + dv);                                            // (B, H, T, dv)

        // RoPE on the rope parts only
        Tensor qRot = be.rope(qPe, positionIds, theta);                                      // (B, H, T, dr)
        Tensor kRot = be.rope(kPe, positionIds, theta);                                      // (B, 1, T, dr)
        Tensor[] heads = new Tensor[h];
        Arrays.fill(heads, kRot);
        Tensor queries = be.concat(-1, qNope, qRot);                                          // (B, H, T, dq)
        Tensor keys = be.concat(-1, kNope, be.concat(1, heads));                              // (B, H, T, dq)

        Core core = attend(be, queries, keys, v, mask, scale, b, h, t, t, dq, dv);
        if (keepForBackward) {                                                                // for logging (docs/model.md#attention-scores)
            try (Tensor mx = be.maxAll(core.masked())) {
                lastMaxLogit = be.item(mx);
            }
        }
        Tensor y = Linear.forward(be, core.attn(), params.get(p + "o_proj.weight", c, h * dv)); // (B, T, C)
        saved = keepForBackward ? new Saved(x, q, ckv, kv, queries, keys, v, core.probs(), core.attn(), positionIds) : null;
        return y;
    }

    /** The intermediates of {@link #attend}; the caller closes what it does not keep. */
    record Core(Tensor scores, Tensor masked, Tensor probs, Tensor attn) {
    }

    /**
     * The attention core, shared with the cached decoder ({@link CachedAttention}): scores, fp32 softmax, weighted
     * values. {@code n} queries attend to {@code t} keys; queries {@code (B, H, n, dq)}, keys
     * {@code (B, H, t, dq)}, v {@code (B, H, t, dv)}, additive mask broadcastable to {@code (B, H, n, t)}.
     */
    static Core attend(Backend be, Tensor queries, Tensor keys, Tensor v, Tensor mask, double scale,
                       int b, int h, int n, int t, int dq, int dv) {
        Tensor scores = be.mulScalar(be.matmul(be.reshape(queries, b * h, n, dq),
                be.reshape(keys, b * h, t, dq), false, true), scale);                         // (B·H, n, t)
        Tensor masked = be.add(be.reshape(scores, b, h, n, t), mask);                         // (B, H, n, t)
        Tensor probs = be.softmax(masked);                                                    // (B, H, n, t)
        Tensor out = be.matmul(be.reshape(probs, b * h, n, t), be.reshape(v, b * h, t, dv),
                false, false);                                                                // (B·H, n, dv)
        Tensor attn = be.reshape(be.permute(be.reshape(out, b, h, n, dv), 0, 2, 1, 3), b, n, h * dv); // (B, n, H·dv)
        return new Core(scores, masked, probs, attn);
    }

    /**
     * Backward of {@link #forward} (needs {@code keepForBackward}); weight gradients are accumulated into
     * {@code grads}, dx {@code (B, T, C)} is returned. In the reverse order of the forward:
     * <pre>
     *   dW_o = dyᵀ·attn, dO = dy·W_o                          (B, H, T, dv) per head
     *   dP = dO·Vᵀ, dV = Pᵀ·dO;  dS = scale · P ⊙ (dP − Σ_keys dP ⊙ P)   (mask: no gradient)
     *   dQ = dS·K, dK = dSᵀ·Q;  split into nope / rope parts; the shared k_pe collects Σ_heads
     *   RoPE backward (rotation by −angle) on dq_pe, dk_pe;  kv_b_proj, kv_a_layernorm, kv_a_proj_with_mqa,
     *   q_proj (or q_b_proj, q_a_layernorm, q_a_proj) backward; dx = Σ of the projections' input gradients
     * </pre>
     */
    public Tensor backward(Tensor dy, Grads grads) {
        Saved sv = saved;
        if (sv == null) throw new IllegalStateException(p + ": attention backward without a recorded forward");
        int b = sv.x().dim(0), t = sv.x().dim(1), dq = dn + dr;

        // output projection and the weighted values
        Tensor dAttn = Linear.backward(be, dy, sv.attn(), params.get(p + "o_proj.weight", c, h * dv), p + "o_proj.weight",
                grads);                                                                        // (B, T, H·dv)
        Tensor dOut = be.reshape(be.permute(be.reshape(dAttn, b, t, h, dv), 0, 2, 1, 3), b * h, t, dv); // (B·H, T, dv)
        Tensor probs = be.reshape(sv.probs(), b * h, t, t);                                   // (B·H, T, T)
        Tensor dProbs = be.matmul(dOut, be.reshape(sv.values(), b * h, t, dv), false, true);  // (B·H, T, T)
        Tensor dV = be.reshape(be.matmul(probs, dOut, true, false), b, h, t, dv);             // (B, H, T, dv)

        // softmax (fp32 in the release; here in the tensors' dtype) and the scale
        Tensor dMasked = be.softmaxBackward(probs, dProbs);                                   // (B·H, T, T)
        Tensor dScores = be.mulScalar(dMasked, scale);                                        // (B·H, T, T)
        Tensor dQ = be.matmul(dScores, be.reshape(sv.keys(), b * h, t, dq), false, false);    // (B·H, T, dq)
        Tensor dK = be.matmul(dScores, be.reshape(sv.queries(), b * h, t, dq), true, false);  // (B·H, T, dq)
        dQ = be.reshape(dQ, b, h, t, dq);
        dK = be.reshape(dK, b, h, t, dq);

        // rope parts: the shared key head receives the sum over heads
        Tensor dqPe = be.ropeBackward(be.slice(dQ, -1, dn, dq), sv.positionIds(), theta);     // (B, H, T, dr)
        Tensor dkRot = be.reshape(be.sum(be.slice(dK, -1, dn, dq), 1), b, 1, t, dr);          // (B, 1, T, dr)
        Tensor dkPe = be.ropeBackward(dkRot, sv.positionIds(), theta);                        // (B, 1, T, dr)

        // kv path: kv_b_proj(kv_a_layernorm(c_kv)), then kv_a_proj_with_mqa
        Tensor dkvh = be.concat(-1, be.slice(dK, -1, 0, dn), dV);                              // (B, H, T, dn+dv)
        Tensor dkv = be.reshape(be.permute(dkvh, 0, 2, 1, 3), b, t, h * (dn + dv));           // (B, T, H·(dn+dv))
        Tensor normedKv = kvaNorm.recomputeOutput();                                          // (B, T, r)
        Tensor dNormedKv = Linear.backward(be, dkv, normedKv, params.get(p + "kv_b_proj.weight", h * (dn + dv), r),
                p + "kv_b_proj.weight", grads);                                               // (B, T, r)
        Tensor dcKv = kvaNorm.backward(dNormedKv, grads);                                     // (B, T, r)
        Tensor dckv = be.concat(-1, dcKv, be.reshape(dkPe, b, t, dr));                        // (B, T, r+dr)
        Tensor dx = Linear.backward(be, dckv, sv.x(), params.get(p + "kv_a_proj_with_mqa.weight", r + dr, c),
                p + "kv_a_proj_with_mqa.weight", grads);                                      // (B, T, C)

        // query path
        Tensor dqh = be.concat(-1, be.slice(dQ, -1, 0, dn), dqPe);                             // (B, H, T, dq)
        Tensor dqFlat = be.reshape(be.permute(dqh, 0, 2, 1, 3), b, t, h * dq);                // (B, T, H·dq)
        Tensor dxq;
        if (rq == null) {
            dxq = Linear.backward(be, dqFlat, sv.x(), params.get(p + "q_proj.weight", h * dq, c), p + "q_proj.weight",
                    grads);                                                                   // (B, T, C)
        } else {
            Tensor normedQa = qaNorm.recomputeOutput();                                       // (B, T, rq)
            Tensor dNormedQa = Linear.backward(be, dqFlat, normedQa, params.get(p + "q_b_proj.weight", h * dq, rq),
                    p + "q_b_proj.weight", grads);                                            // (B, T, rq)
            Tensor dqa = qaNorm.backward(dNormedQa, grads);                                   // (B, T, rq)
            dxq = Linear.backward(be, dqa, sv.x(), params.get(p + "q_a_proj.weight", rq, c), p + "q_a_proj.weight",
                    grads);                                                                   // (B, T, C)
        }
        Tensor sum = be.add(dx, dxq);                                                         // (B, T, C)
        saved = null;
        return sum;
    }

    @Override
    void keepForBackward(boolean on) {
        super.keepForBackward(on);
        kvaNorm.keepForBackward(on);
        if (qaNorm != null) qaNorm.keepForBackward(on);
    }
}
