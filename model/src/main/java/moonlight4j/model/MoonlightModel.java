package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code DeepseekV3ForCausalLM} as Moonlight uses it (docs/model.md#forward-pass):
 * <pre>
 *   h = embed_tokens[ids]                       no scaling
 *   for i in 0..L−1:  h = DecoderLayer_i(h)     dense MLP for i &lt; first_k_dense_replace, MoE after
 *   logits = fp32( lm_head( RMSNorm_final(h) ) ) untied head
 * </pre>
 * Position ids default to {@code arange(T)}; the mask is causal (plus an optional additive one). The model computes
 * in the dtype of its weights (F32 or BF16; the router always in fp32); every weight but the router bias must share
 * it. Letters: B batch, T time, C hidden, V vocab.
 */
public final class MoonlightModel extends Layer {

    /**
     * Result of a forward. {@code logits} F32 {@code (B, T, V)}; {@code hiddenStates} (when asked for) as the release
     * returns them (golden-data/FORMAT.md §3.7): [0] the embeddings, [i] = output of layer i−1 for i = 1..L−1, [L] =
     * the final-normed output of the last layer; each {@code (B, T, C)} in the model dtype.
     */
    public record Output(Tensor logits, List<Tensor> hiddenStates) {
    }

    private final Backend be;
    private final MoonlightConfig cfg;
    private final Parameters params;
    private final DType dtype;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final RmsNorm finalNorm;

    /** Kept for backward: the token ids and the final-normed hidden states (B, T, C). */
    record Saved(Tensor inputIds, Tensor normed) {
    }

    private Saved saved;

    /** Checks {@code params} against {@link ModelShapes#expected} (one error listing every problem). */
    public MoonlightModel(Backend be, MoonlightConfig cfg, Parameters params) {
        this.be = be;
        this.cfg = cfg;
        this.params = params;
        checkParameters(cfg, params);
        this.dtype = params.commonDtype(ModelShapes::isFp32Always);
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F64) {
            throw new IllegalArgumentException("model weights must be F32 or BF16, got " + dtype);
        }
        for (int i = 0; i < cfg.numHiddenLayers(); i++) layers.add(new DecoderLayer(be, params, cfg, i));
        this.finalNorm = new RmsNorm(be, params, "model.norm.", cfg.hiddenSize(), cfg.rmsNormEps());
    }

    /** Every missing, mis-shaped or unexpected parameter in one message. */
    public static void checkParameters(MoonlightConfig cfg, Parameters params) {
        Map<String, int[]> want = ModelShapes.expected(cfg);
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, int[]> e : want.entrySet()) {
            if (!params.has(e.getKey())) {
                problems.add("missing " + e.getKey() + " " + Shapes.str(e.getValue()));
            } else if (!Arrays.equals(params.get(e.getKey()).shape(), e.getValue())) {
                problems.add(e.getKey() + " has shape " + Shapes.str(params.get(e.getKey()).shape()) + ", expected "
                        + Shapes.str(e.getValue()));
            }
        }
        for (String n : params.names()) if (!want.containsKey(n)) problems.add("unexpected " + n);
        if (!problems.isEmpty()) {
            int show = Math.min(problems.size(), 50);
            throw new IllegalArgumentException(problems.size() + " parameter problem(s) for this config: "
                    + String.join("; ", problems.subList(0, show)) + (show < problems.size() ? "; ..." : ""));
        }
    }

    /** {@link #forward(Tensor, Tensor, Tensor, boolean)} with default positions, causal mask, logits only. */
    public Tensor forward(Tensor inputIds) {
        return forward(inputIds, null, null, false).logits();
    }

    /**
     * @param inputIds      {@code (B, T)} I64/I32 token ids in {@code [0, V)}
     * @param positionIds   {@code (B, T)} or null for {@code arange(T)} per row
     * @param attentionMask additive {@code (B, 1, T, T)} combined with the causal mask, or null
     * @param hiddenStates  whether to return the hidden states as well
     */
    public Output forward(Tensor inputIds, Tensor positionIds, Tensor attentionMask, boolean hiddenStates) {
        int[] s = inputIds.shape();
        if (s.length != 2) {
            throw new IllegalArgumentException("input ids: expected (B, T), got " + Shapes.str(s));
        }
        int b = s[0], t = s[1];
        checkTokenIds(inputIds);
        Tensor pos = positionIds != null ? positionIds : defaultPositions(b, t);             // (B, T)
        Tensor mask = AttentionMask.causal(be, dtype, t, attentionMask);                     // (B|1, 1, T, T)
        List<Tensor> states = hiddenStates ? new ArrayList<>() : null;

        Tensor h = be.embedding(params.get("model.embed_tokens.weight"), inputIds);          // (B, T, C)
        for (DecoderLayer layer : layers) {
            if (states != null) states.add(h);
            Tensor next = layer.forward(h, pos, mask);                                       // (B, T, C)
            if (states == null && !keepForBackward) h.close();
            h = next;
        }
        Tensor normed = finalNorm.forward(h);                                                // (B, T, C)
        if (states != null) states.add(normed);
        Tensor logits = Linear.forward(be, normed, params.get("lm_head.weight"));            // (B, T, V)
        if (logits.dtype() == DType.BF16) {
            Tensor f = be.cast(logits, DType.F32);                                           // logits.float()
            logits.close();
            logits = f;
        }
        mask.close();
        saved = keepForBackward ? new Saved(inputIds, normed) : null;
        return new Output(logits, states == null ? List.of() : states);
    }

    /**
     * Backward of the last {@link #forward} (call {@link #training(boolean) training(true)} first): dlogits
     * {@code (B, T, V)} (F32, or the model dtype) → gradients of every parameter that took part, accumulated into
     * {@code grads} under their HF names. Order: lm_head ({@code dW = dlogitsᵀ·normed}), final norm, layers
     * L−1…0, embedding (scatter-add of dh into the rows of the ids). Parameters that received no gradient stay
     * absent from {@code grads} (grad None).
     */
    public void backward(Tensor dLogits, Grads grads) {
        Saved sv = saved;
        if (sv == null) throw new IllegalStateException("model backward without a recorded forward (training(true)?)");
        Tensor d = dLogits.dtype() == dtype ? dLogits : be.cast(dLogits, dtype);           // (B, T, V)
        Tensor dNormed = Linear.backward(be, d, sv.normed(), params.get("lm_head.weight"), "lm_head.weight",
                grads);                                                                     // (B, T, C)
        Tensor dh = finalNorm.backward(dNormed, grads);                                     // (B, T, C)
        for (int i = layers.size() - 1; i >= 0; i--) {
            Tensor next = layers.get(i).backward(dh, grads);                                // (B, T, C)
            dh.close();
            dh = next;
        }
        Tensor embed = params.get("model.embed_tokens.weight");
        grads.accumulate(be, "model.embed_tokens.weight", be.embeddingBackward(dh, sv.inputIds(), embed.dim(0)));
        dh.close();
        if (d != dLogits) d.close();
        saved = null;
    }

    /** Training mode: every layer records what its backward needs (off: inference, nothing retained). */
    public void training(boolean on) {
        keepForBackward(on);
    }

    private void checkTokenIds(Tensor ids) {
        long[] v = be.toLongs(ids);
        int vocab = cfg.vocabSize();
        int t = ids.dim(1);
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= vocab) {
                throw new IllegalArgumentException("token id " + v[i] + " at [" + i / t + ", " + i % t
                        + "] is outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    private Tensor defaultPositions(int b, int t) {
        long[] p = new long[b * t];
        for (int i = 0; i < p.length; i++) p[i] = i % t;
        return be.fromLongs(p, b, t);
    }

    public MoonlightConfig config() {
        return cfg;
    }

    public Parameters parameters() {
        return params;
    }

    /** The dtype the model computes in (that of its weights). */
    public DType dtype() {
        return dtype;
    }

    public List<DecoderLayer> layers() {
        return List.copyOf(layers);
    }

    public Backend backend() {
        return be;
    }

    @Override
    void keepForBackward(boolean on) {
        super.keepForBackward(on);
        layers.forEach(l -> l.keepForBackward(on));
        finalNorm.keepForBackward(on);
    }
}
