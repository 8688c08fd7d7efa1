package moonlight4j.model;

/**
 * How cached decoding turns the compressed MLA cache ({@link MlaCache}) back into attention
 * (docs/model.md#compressed-cache).
 * <ul>
 *   <li>{@link #RECOMPUTE}: {@code [k_nope | v] = kv_b_proj(latent)} for every cached token at every step, then the
 *       eager attention — the release's rounding points exactly (bit-identical to a full re-run on the reference
 *       backend); costs {@code T·r·H·(dn+dv)} multiply-adds per new token and layer.</li>
 *   <li>{@link #ABSORB}: DeepSeek-V3's inference mode, {@code W_UK} folded into the query and {@code W_UV} applied
 *       after attention: {@code score = (q_nope·W_UK)·latentᵀ + q_pe·ropeKeyᵀ}, {@code out = (P·latent)·W_UVᵀ} —
 *       mathematically equal, {@code T·H·(r+dr) + T·H·r} per new token and layer, different rounding (bound
 *       measured in CachedGenerationTest).</li>
 * </ul>
 */
public enum MlaDecoding {
    RECOMPUTE, ABSORB
}
