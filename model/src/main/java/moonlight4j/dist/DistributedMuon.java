package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.dist.FlatLayout.Param;
import moonlight4j.dist.FlatLayout.Piece;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Norms;
import moonlight4j.optim.AdamStep;
import moonlight4j.optim.MuonRule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Distributed Muon, the paper's Algorithm 1 (docs/muon.md#distributed-muon) on ZeRO-1: with N ranks, rank r
 * <pre>
 *   g  = reduce_scatter(G)            its partition of the flat gradient buffer, summed over ranks (fp32)
 *   g' = update_with_momentum(g, m)   momentum (and Nesterov) only for its partition; AdamW moments likewise
 *   G  = gather(g')                   the DP gather, for Muon matrices that span partitions only (bf16, or fp32
 *                                     with the fp32 NS option); a matrix inside one partition is already whole
 *   U  = NS(G)                        on the full matrix, by every rank holding a piece of it
 *   p' = apply_update(p, u)           decay + scaled update of its slice u of U (internal AdamW params: the
 *                                     AdamW rule on its slice)
 *   P  = all_gather(p')               every rank gets the whole updated parameters
 * </pre>
 * The element-wise math is {@link MuonRule}, the same functions {@link Muon} runs, so with gradients that sum to
 * the same bits the parameters equal single-process Muon's bit-for-bit (NS and the decay are element-wise or run
 * on the identical full matrix).
 *
 * <p>Gradients are SUMMED over ranks: each rank passes the gradient of its share of the global loss (for a mean
 * over tokens, its token-loss sum divided by the global token count). A parameter is updated when any rank has a
 * gradient for it (grad-None decided globally); ranks without one contribute zeros. All parameters share one dtype
 * (F32 or BF16) and gradients have it too. {@link #step} returns the update RMS of every updated parameter on every
 * rank: for Muon matrices from the full U (rounded to fp32 by the all-reduce); for AdamW parameters from per-slice sums of squares (fp32 sums in a
 * different order than one process: logging only).
 */
public final class DistributedMuon extends Zero1Optimizer {

    private final Muon.Options opt;

    public DistributedMuon(Backend be, Muon.Options options, Collective comm) {
        super(be, comm);
        this.opt = options;
    }

    @Override
    void updatePartition(Partition part) {
        int r = comm.rank(), s = layout.partitionSize;
        DType dtype = part.dtype();
        float[] grad = part.grad(), local = part.local(), rmsShare = part.rmsShare();
        double lr = part.lr();

        // 2. g' = momentum on the local partition; AdamW parameters are updated here on their slice.
        float[] nsInput = new float[s];                  // g' of Muon slices at their partition offsets
        for (Param p : layout.params) {
            Piece piece = layout.piece(p, r);
            if (piece == null || !part.present()[p.index()]) continue;   // grad None everywhere: skipped entirely
            int at = piece.partitionOffset(s);
            try (Tensor g = HostTensors.of(be, dtype, grad, at, piece.len())) {
                if (useMuon(p)) {
                    Tensor buf = slot(p, Muon.MOMENTUM_BUFFER, dtype, piece.len());
                    Tensor gp = MuonRule.momentum(be, buf, g, opt.momentum(), opt.nesterov());
                    HostTensors.read(be, gp, nsInput, at);
                    if (gp != buf) gp.close();
                } else {
                    long t = steps.merge(p.name(), 1L, Long::sum);
                    try (Tensor pt = HostTensors.of(be, dtype, local, at, piece.len())) {
                        AdamStep st = MuonRule.adamw(be, pt, g, slot(p, Muon.MOMENT1, dtype, piece.len()),
                                slot(p, Muon.MOMENT2, dtype, piece.len()), t, lr, opt);
                        HostTensors.read(be, pt, local, at);
                        rmsShare[p.index()] = (float) (st.stepSize() * st.stepSize() * st.directionSumSquares());
                    }
                }
            }
        }

        // 3. G = gather(g') for spanning matrices; 4. U = NS(G); 5. p' = apply_update(p, u) on the local slice.
        Map<Integer, float[]> gathered = gatherSpanning(part.present(), nsInput, dtype);
        for (Param p : layout.params) {
            Piece piece = layout.piece(p, r);
            if (piece == null || !part.present()[p.index()] || !useMuon(p)) continue;
            int at = piece.partitionOffset(s);
            float[] full = layout.spans(p) ? gathered.get(p.index()) : Arrays.copyOfRange(nsInput, at, at + p.numel());
            int[] shape = p.shape();
            DType gDtype = layout.spans(p) ? gatherDtype(dtype) : dtype;
            try (Tensor matrix = HostTensors.of(be, gDtype, full, 0, shape[0], p.numel() / shape[0]);   // (A, B)
                 Tensor o = opt.newtonSchulz().apply(be, matrix);                                        // (A, B)
                 Tensor u = HostTensors.of(be, o.dtype(), be.toFloats(o), piece.from(), piece.len());    // slice
                 Tensor pt = HostTensors.of(be, dtype, local, at, piece.len())) {
                double adjustedLr = opt.adjustLr().adjust(lr, shape[0], shape[1]);
                MuonRule.applyUpdate(be, pt, u, lr, opt.weightDecay(), adjustedLr);
                HostTensors.read(be, pt, local, at);
                if (layout.firstRank(p) == r) rmsShare[p.index()] = (float) (adjustedLr * Norms.rms(be, o));
            }
        }
    }

    @Override
    Set<String> slotNames() {
        return Set.of(Muon.MOMENTUM_BUFFER, Muon.MOMENT1, Muon.MOMENT2);
    }

    @Override
    boolean rmsFromSquares(Param p) {
        return !useMuon(p);
    }

    private boolean useMuon(Param p) {
        return opt.split().useMuon(p.name(), p.shape());
    }

    /** The dtype the NS input travels in: bf16 (NS rounds to it first anyway) unless the fp32 NS option is on. */
    private DType gatherDtype(DType paramDtype) {
        return paramDtype == DType.BF16 || opt.newtonSchulz().dtype() == DType.BF16 ? DType.BF16 : DType.F32;
    }

    /**
     * The DP gather of Algorithm 1 line 3, one all-gather for all spanning matrices that have a gradient: each rank
     * sends its pieces of them concatenated (padded to the largest rank's total) and receives every rank's.
     * Returns param index → full g' for the spanning matrices this rank holds a piece of.
     */
    private Map<Integer, float[]> gatherSpanning(boolean[] present, float[] nsInput, DType dtype) {
        int n = comm.worldSize(), r = comm.rank(), s = layout.partitionSize;
        List<Param> spanning = new ArrayList<>();
        for (Param p : layout.params) if (present[p.index()] && useMuon(p) && layout.spans(p)) spanning.add(p);
        Map<Integer, float[]> out = new HashMap<>();
        if (spanning.isEmpty()) return out;
        int[] perRank = new int[n];
        for (Param p : spanning) for (int q = 0; q < n; q++) {
            Piece pc = layout.piece(p, q);
            if (pc != null) perRank[q] += pc.len();
        }
        int width = Arrays.stream(perRank).max().orElse(0);
        float[] send = new float[width];
        int k = 0;
        for (Param p : spanning) {
            Piece pc = layout.piece(p, r);
            if (pc == null) continue;
            System.arraycopy(nsInput, pc.partitionOffset(s), send, k, pc.len());
            k += pc.len();
        }
        float[] recv = new float[n * width];
        if (gatherDtype(dtype) == DType.BF16) allGatherBf16(send, recv);
        else comm.allGather(send, recv);
        int[] cursor = new int[n];
        for (Param p : spanning) {
            float[] full = layout.piece(p, r) != null ? new float[p.numel()] : null;
            for (int q = 0; q < n; q++) {
                Piece pc = layout.piece(p, q);
                if (pc == null) continue;
                if (full != null) System.arraycopy(recv, q * width + cursor[q], full, pc.from(), pc.len());
                cursor[q] += pc.len();
            }
            if (full != null) out.put(p.index(), full);
        }
        return out;
    }

    @Override
    public String toString() {
        return "DistributedMuon(ZeRO-1 over " + comm.engine() + " × " + comm.worldSize() + ", rank " + comm.rank()
                + ", NS gather in " + opt.newtonSchulz().dtype() + ")";
    }
}
