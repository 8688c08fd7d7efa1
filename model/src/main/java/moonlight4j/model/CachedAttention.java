package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.Arrays;

/**
 * {@link MlaAttention} for incremental decoding over an {@link MlaCache}: the n new tokens of a step attend to every
 * cached position. Only the compressed per-token state is cached; the per-head keys and values are rebuilt from it:
 * <pre>
 *   q            = q_proj(x)  or  q_b_proj(q_a_layernorm(q_a_proj(x)))      (B, n, H·(dn+dr))
 *   [c_kv | k_pe] = kv_a_proj_with_mqa(x)                                    (B, n, r + dr)
 *   cache ← [kv_a_layernorm(c_kv) | RoPE(k_pe, pos)]                          (B, T, r), (B, T, dr)
 *   [k_nope | v]  = kv_b_proj(latent_cache)                                   (B, T, H·(dn+dv))   recomputed
 *   Q = [q_nope | RoPE(q_pe)],  K = [k_nope | rope_key_cache per head]       (B, H, n, dq), (B, H, T, dq)
 *   out = o_proj( softmax_fp32(Q·Kᵀ·scale + mask) · V )                       (B, n, C)
 * </pre>
 * Recomputing {@code k_nope, v} row by row (rather than DeepSeek's "absorb" of {@code W_UK}/{@code W_UV} into the
 * query and output, docs/model.md#compressed-cache) keeps every rounding point of the full forward: on the reference
 * backend the logits of cached decoding are bit-identical to a full re-run (CachedGenerationTest measures it). Letters
 * as in {@link MlaAttention}; n new tokens, T cached positions after the append. {@link MlaDecoding#ABSORB} replaces
 * the rebuild by {@link AbsorbedAttention}.
 */
final class CachedAttention {

    private final Backend be;
    private final Parameters params;
    private final String p;
    private final int c, h, dn, dr, dv, r;
    private final double theta, scale;
    private final RmsNorm kvaNorm;
    private final MlaAttention projection;      // the query projection, the same code as training's forward
    private final AbsorbedAttention absorbed;   // null: RECOMPUTE

    /** @param prefix e.g. {@code model.layers.0.self_attn.} */
    CachedAttention(Backend be, Parameters params, String prefix, MoonlightConfig cfg, MlaDecoding mode) {
        this.be = be;
        this.absorbed = mode == MlaDecoding.ABSORB ? new AbsorbedAttention(be, cfg) : null;
        this.params = params;
        this.p = prefix;
        this.c = cfg.hiddenSize();
        this.h = cfg.numAttentionHeads();
        this.dn = cfg.qkNopeHeadDim();
        this.dr = cfg.qkRopeHeadDim();
        this.dv = cfg.vHeadDim();
        this.r = cfg.kvLoraRank();
        this.theta = cfg.ropeTheta();
        this.scale = cfg.softmaxScale();
        this.projection = new MlaAttention(be, params, prefix, cfg);
        this.kvaNorm = new RmsNorm(be, params, prefix + "kv_a_layernorm.", r, MoonlightConfig.LATENT_NORM_EPS);
    }

    /**
     * @param x           the new tokens' hidden states {@code (B, n, C)}
     * @param positionIds {@code (B, n)} I64
     * @param mask        additive {@code (B, 1, n, T)} over the cache after the append (see {@link CachedModel})
     * @param cache       appended to at {@code layer}
     * @return {@code (B, n, C)}
     */
    Tensor forward(Tensor x, Tensor positionIds, Tensor mask, MlaCache cache, int layer) {
        int[] s = x.shape();
        if (s.length != 3 || s[2] != c) {
            throw new IllegalArgumentException("attention " + p + ": expected hidden states (B, n, " + c + "), got "
                    + Arrays.toString(s));
        }
        int b = s[0], n = s[1], dq = dn + dr;

        Tensor q = projection.query(x);                                                       // (B, n, H·dq)
        Tensor qh = be.permute(be.reshape(q, b, n, h, dq), 0, 2, 1, 3);                       // (B, H, n, dq)
        Tensor qNope = be.slice(qh, -1, 0, dn);                                               // (B, H, n, dn)
        Tensor qRot = be.rope(be.slice(qh, -1, dn, dq), positionIds, theta);                  // (B, H, n, dr)

        // the compressed state of the new tokens, appended to the cache
        Tensor ckv = Linear.forward(be, x, params.get(p + "kv_a_proj_with_mqa.weight", r + dr, c)); // (B, n, r+dr)
        Tensor latentNew = kvaNorm.forward(be.slice(ckv, -1, 0, r));                         // (B, n, r)
        Tensor kPe = be.reshape(be.slice(ckv, -1, r, r + dr), b, 1, n, dr);                   // (B, 1, n, dr)
        Tensor kRot = be.rope(kPe, positionIds, theta);                                      // (B, 1, n, dr)
        Tensor[] cached = cache.append(layer, latentNew, be.reshape(kRot, b, n, dr));
        int t = cached[0].dim(1);
        Tensor kvB = params.get(p + "kv_b_proj.weight", h * (dn + dv), r);
        if (absorbed != null) {
            Tensor attn = absorbed.forward(qNope, qRot, cached[0], cached[1], mask, kvB);     // (B, n, H·dv)
            return Linear.forward(be, attn, params.get(p + "o_proj.weight", c, h * dv));    // (B, n, C)
        }
        Tensor ropeKey = be.reshape(cached[1], b, 1, t, dr);                                  // (B, 1, T, dr)

        // per-head keys and values rebuilt from the latent
        Tensor kv = Linear.forward(be, cached[0], kvB);                                       // (B, T, H·(dn+dv))
        Tensor kvh = be.permute(be.reshape(kv, b, t, h, dn + dv), 0, 2, 1, 3);               // (B, H, T, dn+dv)
        Tensor kNope = be.slice(kvh, -1, 0, dn);                                              // (B, H, T, dn)
        Tensor v = be.slice(kvh, -1, dn, dn + dv);                                            // (B, H, T, dv)
        Tensor[] heads = new Tensor[h];
        Arrays.fill(heads, ropeKey);
        Tensor queries = be.concat(-1, qNope, qRot);                                          // (B, H, n, dq)
        Tensor keys = be.concat(-1, kNope, be.concat(1, heads));                              // (B, H, T, dq)

        MlaAttention.Core core = MlaAttention.attend(be, queries, keys, v, mask, scale, b, h, n, t, dq, dv);
        Tensor y = Linear.forward(be, core.attn(), params.get(p + "o_proj.weight", c, h * dv)); // (B, n, C)
        for (Tensor dead : new Tensor[]{kv, kvh, kNope, v, keys, core.scores(), core.masked(), core.probs()}) dead.close();
        return y;
    }
}
