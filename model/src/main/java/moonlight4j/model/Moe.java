package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code DeepseekV3MoE} (SPEC §4.8, golden-data FORMAT §3.5): {@code y = Σ_k w_k · Expert_{idx_k}(x) + Shared(x)}.
 * Tokens are dispatched per expert: the rows routed to expert e are gathered, run through its SwiGLU MLP in the
 * model dtype, cast to fp32, scaled by their routing weights and added into an fp32 accumulator (as the release sums
 * the weighted expert outputs in fp32, R L611-619), which is cast back to the model dtype before the shared
 * experts' output is added. HF parameters under the prefix: {@code gate.*}, {@code experts.{e}.*},
 * {@code shared_experts.*}.
 */
public final class Moe extends Layer implements FeedForward {

    private final Backend be;
    private final MoeGate gate;
    private final List<Mlp> experts = new ArrayList<>();
    private final Mlp shared;                 // null when n_shared_experts is null or 0
    private final int hidden, k;

    /** Routing of the last forward (kept for backward and for load-balancing statistics, SPEC §5). */
    private MoeGate.Routing lastRouting;

    /** @param prefix e.g. {@code model.layers.3.mlp.} (empty in module-level golden cases) */
    public Moe(Backend be, Parameters params, String prefix, MoonlightConfig cfg) {
        this.be = be;
        this.gate = new MoeGate(be, params, prefix + "gate.", cfg);
        this.hidden = cfg.hiddenSize();
        this.k = cfg.numExpertsPerTok();
        for (int e = 0; e < cfg.nRoutedExperts(); e++) {
            experts.add(new Mlp(be, params, prefix + "experts." + e + ".", hidden, cfg.moeIntermediateSize()));
        }
        int sharedWidth = cfg.sharedIntermediateSize();
        this.shared = sharedWidth > 0 ? new Mlp(be, params, prefix + "shared_experts.", hidden, sharedWidth) : null;
    }

    /** x {@code (B, T, C)} (or {@code (N, C)}) → same shape. */
    @Override
    public Tensor forward(Tensor x) {
        int[] shape = x.shape();
        int n = (int) (x.numel() / hidden);
        Tensor flat = be.reshape(x, n, hidden);                                 // (N, C)
        MoeGate.Routing r = gate.forward(flat);
        lastRouting = r;
        long[] idx = be.toLongs(r.topkIdx());                                   // N·k expert ids, slot-major per token
        List<List<Integer>> slots = new ArrayList<>();                           // per expert: flat slots p = t·k + j
        for (int e = 0; e < experts.size(); e++) slots.add(new ArrayList<>());
        for (int p = 0; p < idx.length; p++) slots.get((int) idx[p]).add(p);

        Tensor acc = be.zeros(DType.F32, n, hidden);                            // (N, C) fp32 accumulator
        Tensor wFlat = be.reshape(r.topkWeight(), n * k, 1);                    // (N·k, 1)
        for (int e = 0; e < experts.size(); e++) {
            List<Integer> ps = slots.get(e);
            if (ps.isEmpty()) continue;                                          // the release skips idle experts too
            long[] tok = new long[ps.size()], pos = new long[ps.size()];
            for (int m = 0; m < tok.length; m++) {
                pos[m] = ps.get(m);
                tok[m] = ps.get(m) / k;
            }
            Tensor tokIdx = be.fromLongs(tok, tok.length);
            Tensor posIdx = be.fromLongs(pos, pos.length);
            Tensor xe = be.gatherRows(flat, tokIdx);                             // (n_e, C) dispatch
            Tensor ye = experts.get(e).forward(xe);                              // (n_e, C) model dtype
            Tensor ye32 = be.cast(ye, DType.F32);                                // (n_e, C) fp32
            Tensor we = be.gatherRows(wFlat, posIdx);                            // (n_e, 1) routing weights
            Tensor contrib = be.mul(ye32, we);                                   // (n_e, C) w · Expert_e(x)
            be.indexAddInPlace(acc, tokIdx, contrib);                            // combine
            for (Tensor t : new Tensor[]{posIdx, ye32, we, contrib}) t.close();
            if (!keepForBackward) {                                              // else the expert keeps xe
                tokIdx.close();
                xe.close();
                ye.close();
            }
        }
        Tensor y = acc;
        if (x.dtype() != DType.F32) {
            y = be.cast(acc, x.dtype());                                         // (N, C) back to the model dtype
            acc.close();
        }
        if (shared != null) {
            Tensor s = shared.forward(flat);                                     // (N, C)
            Tensor sum = be.add(y, s);
            y.close();
            y = sum;
        }
        return be.reshape(y, shape);
    }

    // backward(dy): shared MLP backward; per expert: d(contrib) = dy rows, dw = Σ_c (dy ⊙ ye32), dye = dy·w →
    // expert backward → indexAdd into dx; gate backward with dw (later issue)

    public MoeGate gate() {
        return gate;
    }

    /** The routing computed by the last {@link #forward}. */
    public MoeGate.Routing lastRouting() {
        return lastRouting;
    }

    @Override
    void keepForBackward(boolean on) {
        super.keepForBackward(on);
        gate.keepForBackward(on);
        experts.forEach(m -> m.keepForBackward(on));
        if (shared != null) shared.keepForBackward(on);
    }
}
