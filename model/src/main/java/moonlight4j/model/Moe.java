package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code DeepseekV3MoE} (docs/model.md#moe-layer, golden-data/FORMAT.md §3.5): {@code y = Σ_k w_k · Expert_{idx_k}(x) +
 * Shared(x)}. Tokens are dispatched per expert: the rows routed to expert e are gathered, run through its SwiGLU MLP in
 * the model dtype, cast to fp32, scaled by their routing weights and added into an fp32 accumulator (as the release
 * sums the weighted expert outputs in fp32 in {@code moe_infer}), which is cast back to the model dtype before the
 * shared experts' output is added. HF parameters under the prefix: {@code gate.*}, {@code experts.{e}.*},
 * {@code shared_experts.*}.
 */
public final class Moe extends Layer implements FeedForward {

    private final Backend be;
    private final MoeGate gate;
    private final List<Mlp> experts = new ArrayList<>();
    private final Mlp shared;                 // null when n_shared_experts is null or 0
    private final int hidden, k;

    /** Routing of the last forward (kept for backward and for load-balancing statistics, docs/model.md#load-balancing). */
    private MoeGate.Routing lastRouting;

    /** Kept for backward per expert that received tokens: its token rows, slot positions and output. */
    record ExpertSaved(int expert, Tensor tokIdx, Tensor posIdx, Tensor ye) {
    }

    private final List<ExpertSaved> saved = new ArrayList<>();
    private int savedTokens;

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

        saved.clear();
        savedTokens = n;
        DType accDtype = MoeGate.routerDtype(x.dtype());                        // fp32 (F64 in gradient checks)
        Tensor acc = be.zeros(accDtype, n, hidden);                             // (N, C) fp32 accumulator
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
            Tensor ye32 = ye.dtype() == accDtype ? ye : be.cast(ye, accDtype);   // (n_e, C) fp32
            Tensor we = be.gatherRows(wFlat, posIdx);                            // (n_e, 1) routing weights
            Tensor contrib = be.mul(ye32, we);                                   // (n_e, C) w · Expert_e(x)
            be.indexAddInPlace(acc, tokIdx, contrib);                            // combine
            for (Tensor t : new Tensor[]{ye32 == ye ? null : ye32, we, contrib}) if (t != null) t.close();
            if (keepForBackward) {
                saved.add(new ExpertSaved(e, tokIdx, posIdx, ye));
            } else {
                posIdx.close();                                              // else the expert keeps xe
                tokIdx.close();
                xe.close();
                ye.close();
            }
        }
        Tensor y = acc;
        if (x.dtype() != accDtype) {
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

    /**
     * Backward of {@link #forward} (needs {@code keepForBackward}). With {@code y = Σ_k w_k·E_k(x) + Shared(x)}
     * (the routed sum in fp32):
     * <pre>
     *   dx  = Shared.backward(dy)
     *   per expert e and each slot (t, j) routed to it:  dw_tj = ⟨dy_t, E_e(x_t)⟩,  dE_e(x_t) = w_tj · dy_t
     *   dx += E_e.backward(…) scattered back to the token rows;  dx += gate.backward(dw)
     * </pre>
     * Experts no token chose get no gradient (absent from grads: grad None). Returns dx shaped like dy.
     */
    @Override
    public Tensor backward(Tensor dy, Grads grads) {
        if (lastRouting == null || !keepForBackward) {
            throw new IllegalStateException("MoE backward without a recorded forward");
        }
        int[] shape = dy.shape();
        int n = savedTokens;
        DType model = dy.dtype();
        DType accDtype = MoeGate.routerDtype(model);
        Tensor dyFlat = be.reshape(dy, n, hidden);                               // (N, C)
        Tensor dx = shared != null ? shared.backward(dyFlat, grads) : be.zeros(model, n, hidden);  // (N, C)
        Tensor dAcc = model == accDtype ? dyFlat : be.cast(dyFlat, accDtype);    // (N, C) grad of the fp32 sum
        Tensor wFlat = be.reshape(lastRouting.topkWeight(), n * k, 1);           // (N·k, 1)
        Tensor dWeight = be.zeros(accDtype, n * k, 1);                           // (N·k, 1)
        for (ExpertSaved es : saved) {
            Tensor dContrib = be.gatherRows(dAcc, es.tokIdx());                  // (n_e, C)
            Tensor ye32 = es.ye().dtype() == accDtype ? es.ye() : be.cast(es.ye(), accDtype);   // (n_e, C)
            Tensor prod = be.mul(dContrib, ye32);                                // (n_e, C)
            int ne = prod.dim(0);
            Tensor dwe = be.reshape(be.sum(prod, -1), ne, 1);                    // (n_e, 1) d w for these slots
            be.indexAddInPlace(dWeight, es.posIdx(), dwe);
            Tensor we = be.gatherRows(wFlat, es.posIdx());                       // (n_e, 1)
            Tensor dye32 = be.mul(dContrib, we);                                 // (n_e, C)
            Tensor dye = model == accDtype ? dye32 : be.cast(dye32, model);      // (n_e, C) model dtype
            Tensor dxe = experts.get(es.expert()).backward(dye, grads);          // (n_e, C)
            be.indexAddInPlace(dx, es.tokIdx(), dxe);
            for (Tensor t : new Tensor[]{dContrib, ye32, prod, dwe, we, dye32, dye, dxe, es.tokIdx(), es.posIdx(),
                    es.ye()}) {
                t.close();
            }
        }
        saved.clear();
        Tensor dxGate = gate.backward(be.reshape(dWeight, n, k), model, grads); // (N, C)
        Tensor sum = be.add(dx, dxGate);                                         // (N, C)
        for (Tensor t : new Tensor[]{dWeight, dxGate}) t.close();
        return be.reshape(sum, shape);
    }

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
