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
        long[] idx = be.toLongs(r.topkIdx());                                   // N·k expert ids, row-major (t, j)
        // group the flat slots p = t·k + j by expert, ascending p within an expert (a counting sort)
        int nExperts = experts.size();
        int[] start = new int[nExperts + 1];
        for (long e : idx) start[(int) e + 1]++;
        for (int e = 0; e < nExperts; e++) start[e + 1] += start[e];
        int[] fill = java.util.Arrays.copyOf(start, nExperts);
        long[] bySlot = new long[idx.length];
        for (int p = 0; p < idx.length; p++) bySlot[fill[(int) idx[p]]++] = p;

        Tensor acc = be.zeros(DType.F32, n, hidden);                            // (N, C) fp32 accumulator
        Tensor wFlat = be.reshape(r.topkWeight(), n * k, 1);                    // (N·k, 1)
        for (int e = 0; e < nExperts; e++) {
            int count = start[e + 1] - start[e];
            if (count == 0) continue;                                            // the release skips idle experts too
            long[] pos = java.util.Arrays.copyOfRange(bySlot, start[e], start[e + 1]);
            long[] tok = new long[count];
            for (int m = 0; m < count; m++) tok[m] = pos[m] / k;                 // slot → token
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
