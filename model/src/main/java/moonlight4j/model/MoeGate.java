package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;

/**
 * The router, {@code MoEGate} with {@code topk_method = noaux_tc} and sigmoid scoring (docs/model.md#router,
 * golden-data golden-data/FORMAT.md §3.4). Per token x (computed in fp32 whatever the model dtype, as the release
 * does):
 * <pre>
 *   s      = σ(x_f32 · W_f32ᵀ)                       unbiased affinities, (N, E)
 *   c      = s + e_score_correction_bias              biased choice scores — used for selection only
 *   g_j    = sum of the top-2 c within group j        (n_group groups of E/n_group experts)
 *   c'     = c with every expert outside the topk_group best groups set to 0.0   (not −∞)
 *   idx    = topk(c', k)
 *   w      = s[idx]                                   weights come from the unbiased scores
 *   w      = w / (Σw + 1e-20)                         only if k &gt; 1 and norm_topk_prob
 *   w      = w · routed_scaling_factor                always
 * </pre>
 * HF parameters under the prefix: {@code weight [E, C]}, {@code e_score_correction_bias [E]}.
 * Slot order: {@code Backend.topk} sorts by descending choice score (ties to the lower expert id); the release's
 * {@code sorted=False} order is implementation-defined, so compare routings as sets of (expert, weight) pairs.
 */
public final class MoeGate extends Layer {

    /** The routing of N tokens: expert ids {@code topkIdx} I64 (N, k) and weights {@code topkWeight} F32 (N, k). */
    public record Routing(Tensor topkIdx, Tensor topkWeight) {
    }

    private final Backend be;
    private final Parameters params;
    private final String weight, bias;
    private final int hidden, experts, k, nGroup, topkGroup;
    private final boolean normTopkProb;
    private final double routedScalingFactor;

    /** Activations kept for backward: fp32 input, sigmoid scores s (N, E), chosen ids, pre-normalisation weights. */
    record Saved(Tensor xF32, Tensor scores, Tensor topkIdx, Tensor rawWeight) {
    }

    private Saved saved;

    /** @param prefix e.g. {@code model.layers.3.mlp.gate.} (or {@code gate.} / empty in module-level cases) */
    public MoeGate(Backend be, Parameters params, String prefix, MoonlightConfig cfg) {
        if (cfg.nRoutedExperts() == null) throw new IllegalArgumentException("MoeGate needs n_routed_experts");
        this.be = be;
        this.params = params;
        this.weight = prefix + "weight";
        this.bias = prefix + "e_score_correction_bias";
        this.hidden = cfg.hiddenSize();
        this.experts = cfg.nRoutedExperts();
        this.k = cfg.numExpertsPerTok();
        this.nGroup = cfg.nGroup();
        this.topkGroup = cfg.topkGroup();
        this.normTopkProb = cfg.normTopkProb();
        this.routedScalingFactor = cfg.routedScalingFactor();
    }

    /**
     * x {@code (N, C)} in the model dtype → the routing of each of the N tokens. Temporaries live in the method's own
     * {@link TensorScope}; what it returns, and what backward needs, is kept.
     */
    public Routing forward(Tensor x) {
        try (TensorScope tmp = TensorScope.open()) {
            int n = x.dim(0);
            DType rd = routerDtype(x.dtype());
            Tensor xf = be.cast(x, rd);                                                 // (N, C) fp32
            Tensor wf = be.cast(params.get(weight, experts, hidden), rd);               // (E, C)
            Tensor s = be.sigmoid(be.matmul(xf, wf, false, true));                      // (N, E) unbiased scores
            Tensor choice = be.add(s, be.cast(params.get(bias, experts), rd));          // (N, E) biased, selection only
            if (nGroup > 1) choice = keepBestGroups(choice, n);                         // (N, E) others = 0.0
            Tensor idx = be.topk(choice, k).indices();                                  // (N, k) I64
            Tensor raw = be.gatherLastDim(s, idx);                                      // (N, k) weights from s, not c
            Tensor w = raw;
            if (k > 1 && normTopkProb) {
                Tensor denom = be.addScalar(be.reshape(be.sum(raw, -1), n, 1), 1e-20);  // (N, 1) Σw + 1e-20
                w = be.div(raw, denom);                                                 // (N, k)
            }
            Tensor scaled = be.mulScalar(w, routedScalingFactor);                       // (N, k)
            saved = keepForBackward ? new Saved(tmp.keep(xf), tmp.keep(s), tmp.keep(idx), tmp.keep(raw)) : null;
            return new Routing(tmp.keep(idx), tmp.keep(scaled));
        }
    }

    /**
     * Group-limited routing: group score = sum of the top-2 choice scores in each group; the
     * {@code topk_group} best groups are kept and every expert of another group gets choice score 0.0.
     */
    private Tensor keepBestGroups(Tensor choice, int n) {
        int per = experts / nGroup;
        Tensor grouped = be.reshape(choice, n, nGroup, per);                        // (N, G, E/G)
        Tensor groupScores = be.sum(be.topk(grouped, 2).values(), -1);              // (N, G)
        Tensor keptGroups = be.topk(groupScores, topkGroup).indices();              // (N, topk_group)
        Tensor ones = be.full(choice.dtype(), 1.0, n, topkGroup);
        Tensor groupMask = be.scatterAddLastDim(ones, keptGroups, nGroup);          // (N, G) 1 kept, 0 dropped
        Tensor expand = be.full(choice.dtype(), 1.0, 1, 1, per);
        Tensor scoreMask = be.mul(be.reshape(groupMask, n, nGroup, 1), expand);     // (N, G, E/G)
        Tensor kept = be.mul(choice, be.reshape(scoreMask, n, experts));            // (N, E) dropped → ±0.0
        // masked_fill(…, 0.0) writes +0.0; c·0 gives −0.0 for negative c, and −0.0 + 0.0 = +0.0 (IEEE 754)
        return be.addScalar(kept, 0.0);
    }

    /**
     * The router's compute dtype: fp32 for F32/BF16 models as the release; F64 stays F64 so that
     * gradient checks run in fp64 throughout.
     */
    static DType routerDtype(DType model) {
        return model == DType.F64 ? DType.F64 : DType.F32;
    }

    /**
     * Backward of {@link #forward} (needs {@code keepForBackward}). The selection {@code idx} is not differentiated
     * and the bias gets no gradient (grad None). With {@code r = s[idx]}, {@code S = Σr + 1e-20}:
     * <pre>
     *   dw  = dScaled · rsf
     *   dr_j = dw_j / S − Σ_i dw_i r_i / S²            (only if k &gt; 1 and norm_topk_prob; else dr = dw)
     *   ds  = scatter of dr into (N, E) at idx;  dlogits = ds ⊙ s(1 − s)
     *   dW  = dlogitsᵀ · x_f32  (accumulated into grads),  dx = dlogits · W  (cast to the model dtype)
     * </pre>
     *
     * @param dWeight gradient of the returned routing weights {@code (N, k)} in the router dtype
     * @param xDtype  the model dtype of the forward's input
     */
    public Tensor backward(Tensor dWeight, DType xDtype, Grads grads) {
        Saved sv = saved;
        if (sv == null) throw new IllegalStateException(weight + ": gate backward without a recorded forward");
        int n = sv.xF32().dim(0);
        double[] dw = be.toDoubles(dWeight);
        double[] raw = be.toDoubles(sv.rawWeight());
        double[] dr = new double[dw.length];
        for (int row = 0; row < n; row++) {
            int o = row * k;
            if (k > 1 && normTopkProb) {
                double sum = 1e-20, dot = 0;
                for (int j = 0; j < k; j++) sum += raw[o + j];
                for (int j = 0; j < k; j++) dot += dw[o + j] * routedScalingFactor * raw[o + j];
                for (int j = 0; j < k; j++) dr[o + j] = dw[o + j] * routedScalingFactor / sum - dot / (sum * sum);
            } else {
                for (int j = 0; j < k; j++) dr[o + j] = dw[o + j] * routedScalingFactor;
            }
        }
        try (TensorScope tmp = TensorScope.open()) {
            DType rd = sv.scores().dtype();
            Tensor dr64 = be.fromDoubles(dr, n, k);
            Tensor drT = rd == DType.F64 ? dr64 : be.cast(dr64, rd);                    // (N, k)
            Tensor ds = be.scatterAddLastDim(drT, sv.topkIdx(), experts);                // (N, E)
            Tensor dLogits = be.sigmoidBackward(sv.scores(), ds);                        // (N, E)
            Tensor w = params.get(weight, experts, hidden);
            Tensor dW = be.matmul(dLogits, sv.xF32(), true, false);                      // (E, C)
            grads.accumulate(be, weight, dW.dtype() == w.dtype() ? dW : be.cast(dW, w.dtype()));
            Tensor dxf = be.matmul(dLogits, be.cast(w, rd), false, false);               // (N, C)
            Tensor dx = dxf.dtype() == xDtype ? dxf : be.cast(dxf, xDtype);
            for (Tensor t : new Tensor[]{sv.xF32(), sv.scores(), sv.rawWeight()}) t.close();  // what forward kept
            saved = null;
            return tmp.keep(dx);
        }
    }

    public int experts() {
        return experts;
    }

    public int k() {
        return k;
    }
}
