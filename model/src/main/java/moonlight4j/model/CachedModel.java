package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link MoonlightModel}'s forward (docs/model.md#forward-pass) one step at a time over an {@link MlaCache}: a step
 * feeds n new tokens per row (the whole prompt at prefill, one token per decoding step) and returns the logits of the
 * last one.
 * <pre>
 *   h = embed_tokens[ids]                                      (B, n, C)
 *   for i:  h = h + CachedAttn_i(RMSNorm_in(h));  h = h + FFN_i(RMSNorm_post(h))
 *   logits = fp32( lm_head( RMSNorm_final(h[:, −1]) ) )        (B, V)
 * </pre>
 * The FFNs are the model's own ({@link DecoderLayer#ffn()}); the norms and attention read the same parameters by
 * their HF names. Rows may be left-padded: a padding slot is never attended to (its key is masked for every query),
 * and positions count real tokens only, so a padded row computes what it would alone.
 */
public final class CachedModel {

    private final MoonlightModel model;
    private final Backend be;
    private final Parameters params;
    private final MoonlightConfig cfg;
    private final List<RmsNorm> inputNorms = new ArrayList<>(), postNorms = new ArrayList<>();
    private final List<CachedAttention> attentions = new ArrayList<>();
    private final RmsNorm finalNorm;

    /** {@link MlaDecoding#RECOMPUTE}: the release's rounding points. */
    public CachedModel(MoonlightModel model) {
        this(model, MlaDecoding.RECOMPUTE);
    }

    public CachedModel(MoonlightModel model, MlaDecoding mode) {
        this.model = model;
        this.be = model.backend();
        this.params = model.parameters();
        this.cfg = model.config();
        for (int i = 0; i < cfg.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            inputNorms.add(new RmsNorm(be, params, p + "input_layernorm.", cfg.hiddenSize(), cfg.rmsNormEps()));
            postNorms.add(new RmsNorm(be, params, p + "post_attention_layernorm.", cfg.hiddenSize(),
                    cfg.rmsNormEps()));
            attentions.add(new CachedAttention(be, params, p + "self_attn.", cfg, mode));
        }
        this.finalNorm = new RmsNorm(be, params, "model.norm.", cfg.hiddenSize(), cfg.rmsNormEps());
    }

    /** An empty cache for {@code batch} rows. */
    public MlaCache newCache(int batch) {
        return new MlaCache(be, batch, cfg.numHiddenLayers());
    }

    public MoonlightModel model() {
        return model;
    }

    /**
     * One step: appends {@code ids} to the cache and returns the fp32 logits of each row's last new token.
     *
     * @param ids       {@code [B][n]} token ids in {@code [0, V)} (a pad slot may hold any valid id)
     * @param positions {@code [B][n]} position ids (RoPE); for real tokens = number of real tokens before them
     * @param real      {@code [B][n]} false for left-padding slots
     * @return logits {@code (B, V)} F32; the caller closes it
     */
    public Tensor step(long[][] ids, long[][] positions, boolean[][] real, MlaCache cache) {
        int b = ids.length, n = ids[0].length, vocab = cfg.vocabSize();
        if (b != cache.batch()) {
            throw new IllegalArgumentException("step: " + b + " rows but the cache has " + cache.batch());
        }
        long[] flatIds = new long[b * n], flatPos = new long[b * n];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != n || positions[i].length != n || real[i].length != n) {
                throw new IllegalArgumentException("step: row " + i + " does not have " + n + " ids/positions/flags");
            }
            for (int j = 0; j < n; j++) {
                long id = ids[i][j];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("token id " + id + " at [" + i + ", " + j
                            + "] is outside the vocabulary [0, " + vocab + ")");
                }
                flatIds[i * n + j] = id;
                flatPos[i * n + j] = positions[i][j];
            }
        }
        cache.extend(real);
        DType dtype = model.dtype();
        try (Tensor idT = be.fromLongs(flatIds, b, n);
             Tensor pos = be.fromLongs(flatPos, b, n);
             Tensor mask = mask(cache, n, dtype)) {
            Tensor h = be.embedding(params.get("model.embed_tokens.weight"), idT);           // (B, n, C)
            List<DecoderLayer> layers = model.layers();
            for (int i = 0; i < layers.size(); i++) {
                Tensor a = attentions.get(i).forward(inputNorms.get(i).forward(h), pos, mask, cache, i); // (B, n, C)
                Tensor h1 = be.add(h, a);                                                     // (B, n, C) residual
                Tensor f = layers.get(i).ffn().forward(postNorms.get(i).forward(h1));         // (B, n, C)
                Tensor h2 = be.add(h1, f);                                                    // (B, n, C) residual
                for (Tensor dead : new Tensor[]{h, a, h1, f}) dead.close();
                h = h2;
            }
            Tensor last = be.slice(h, 1, n - 1, n);                                           // (B, 1, C)
            Tensor normed = finalNorm.forward(last);                                          // (B, 1, C)
            Tensor logits = Linear.forward(be, normed, params.get("lm_head.weight"));         // (B, 1, V)
            Tensor out = logits.dtype() == DType.F32 ? be.copy(logits) : be.cast(logits, DType.F32);
            for (Tensor dead : new Tensor[]{h, last, normed, logits}) dead.close();
            return be.reshape(out, b, vocab);                                                 // (B, V)
        }
    }

    /**
     * The additive mask {@code (B, 1, n, T)} of the step's n queries over the T cached slots: query i sits at slot
     * {@code T − n + i} and sees slot j iff {@code j ≤ T − n + i} (causal) and slot j is a real token; other entries
     * are {@code finfo(dtype).min}, as in {@link AttentionMask}. A pad query sees nothing (its row is all min, a
     * uniform softmax as in the full forward) and its output is never used.
     */
    static Tensor mask(MlaCache cache, int n, DType dtype) {
        int b = cache.batch(), t = cache.length(), past = t - n;
        double min = AttentionMask.minValue(dtype);
        double[] m = new double[b * n * t];
        for (int row = 0; row < b; row++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < t; j++) {
                    boolean sees = j <= past + i && cache.isValid(row, j);
                    m[(row * n + i) * t + j] = sees ? 0.0 : min;
                }
            }
        }
        Backend be = cache.backend();
        try (Tensor f64 = be.fromDoubles(m, b, 1, n, t)) {
            return be.cast(f64, dtype);
        }
    }
}
