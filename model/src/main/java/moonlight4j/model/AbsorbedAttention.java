package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * The attention core of {@link MlaDecoding#ABSORB} (docs/model.md#compressed-cache): with {@code W_UK_h (dn, r)} and
 * {@code W_UV_h (dv, r)} the rows of head h in {@code kv_b_proj.weight},
 * <pre>
 *   q_lat_h  = q_nope_h · W_UK_h                                   (B·n, r)   per head
 *   score_ht = ( q_lat_h · latent_t + q_rot_h · ropeKey_t ) · scale      = q_nope·k_nope + q_pe·k_pe
 *   o_lat_h  = Σ_t softmax(score_h + mask)_t · latent_t             (B·n, r)
 *   out_h    = o_lat_h · W_UV_hᵀ                                    (B·n, dv)  = Σ_t p_t · v_ht
 * </pre>
 * so the per-head keys and values are never formed. Letters as in {@link MlaAttention}.
 */
final class AbsorbedAttention {

    private final Backend be;
    private final int h, dn, dv, r;
    private final double scale;

    AbsorbedAttention(Backend be, MoonlightConfig cfg) {
        this.be = be;
        this.h = cfg.numAttentionHeads();
        this.dn = cfg.qkNopeHeadDim();
        this.dv = cfg.vHeadDim();
        this.r = cfg.kvLoraRank();
        this.scale = cfg.softmaxScale();
    }

    /**
     * @param qNope   {@code (B, H, n, dn)}
     * @param qRot    {@code (B, H, n, dr)} rotated
     * @param latent  {@code (B, T, r)} cache
     * @param ropeKey {@code (B, T, dr)} cache
     * @param mask    {@code (B, 1, n, T)}
     * @param kvB     {@code kv_b_proj.weight (H·(dn+dv), r)}
     * @return the attention output {@code (B, n, H·dv)}
     */
    Tensor forward(Tensor qNope, Tensor qRot, Tensor latent, Tensor ropeKey, Tensor mask, Tensor kvB) {
        int b = qNope.dim(0), n = qNope.dim(2), t = latent.dim(1), dr = qRot.dim(3);
        // split every call (not cached): training updates kv_b_proj in place
        Tensor w = be.reshape(kvB, h, dn + dv, r);                                            // (H, dn+dv, r)
        Tensor wUk = be.slice(w, 1, 0, dn);                                                   // (H, dn, r)
        Tensor wUv = be.slice(w, 1, dn, dn + dv);                                             // (H, dv, r)
        Tensor qn = be.reshape(be.permute(qNope, 1, 0, 2, 3), h, b * n, dn);                  // (H, B·n, dn)
        Tensor qLat = be.matmul(qn, wUk, false, false);                                       // (H, B·n, r)
        Tensor qLatB = be.reshape(be.permute(be.reshape(qLat, h, b, n, r), 1, 0, 2, 3), b, h * n, r); // (B, H·n, r)
        Tensor query = be.concat(-1, qLatB, be.reshape(qRot, b, h * n, dr));                 // (B, H·n, r+dr)
        Tensor key = be.concat(-1, latent, ropeKey);                                          // (B, T, r+dr)
        Tensor scores = be.mulScalar(be.matmul(query, key, false, true), scale);              // (B, H·n, T)
        Tensor probs = be.softmax(be.add(be.reshape(scores, b, h, n, t), mask));              // (B, H, n, T)
        Tensor oLat = be.matmul(be.reshape(probs, b, h * n, t), latent, false, false);        // (B, H·n, r)
        Tensor oh = be.reshape(be.permute(be.reshape(oLat, b, h, n, r), 1, 0, 2, 3), h, b * n, r); // (H, B·n, r)
        Tensor out = be.matmul(oh, wUv, false, true);                                         // (H, B·n, dv)
        Tensor y = be.reshape(be.permute(be.reshape(out, h, b, n, dv), 1, 2, 0, 3), b, n, h * dv); // (B, n, H·dv)
        for (Tensor dead : new Tensor[]{wUk, wUv, qn, qLat, query, key, scores, probs, oLat, oh, out}) dead.close();
        return y;
    }
}
