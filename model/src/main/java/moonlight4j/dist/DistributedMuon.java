package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.dist.FlatLayout.Param;
import moonlight4j.dist.FlatLayout.Piece;
import moonlight4j.optim.Muon;
import moonlight4j.optim.MuonRule;
import moonlight4j.optim.Optimizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Distributed Muon, the paper's Algorithm 1 (SPEC §2.4) on ZeRO-1: with N ranks, rank r
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
 * rank: exact for Muon matrices (the full U); for AdamW parameters from per-slice sums of squares (fp32 sums in a
 * different order than one process: logging only).
 */
public final class DistributedMuon implements Optimizer {

    private final Backend be;
    private final Muon.Options opt;
    private final Collective comm;
    private FlatLayout layout;
    private final Map<String, Tensor> slots = new LinkedHashMap<>();    // "<param>.<slot>" → this rank's slice
    private final Map<String, Long> steps = new LinkedHashMap<>();      // AdamW step counts of params with a slice here

    public DistributedMuon(Backend be, Muon.Options options, Collective comm) {
        this.be = be;
        this.opt = options;
        this.comm = comm;
    }

    @Override
    public Map<String, Double> step(Map<String, Tensor> params, Map<String, Tensor> grads, double lr) {
        if (layout == null) {
            layout = new FlatLayout(params, comm.worldSize());
            DataParallel.checkSameConfig(comm, layout.describe());      // same parameter set on every rank
        }
        layout.check(params);
        DType dtype = commonDtype(params, grads);
        int n = comm.worldSize(), r = comm.rank(), s = layout.partitionSize;
        boolean[] present = globalGradFlags(grads);

        // 1. g = reduce_scatter(G): the flat gradient buffer, zeros where a rank has no gradient.   (N·S) → (S)
        float[] flatGrad = new float[n * s];
        for (Param p : layout.params) {
            Tensor g = grads.get(p.name());
            if (g != null) HostTensors.read(be, g, flatGrad, p.offset());
        }
        float[] grad = new float[s];
        if (dtype == DType.BF16) reduceScatterBf16(flatGrad, grad);
        else comm.reduceScatter(flatGrad, grad, ReduceOp.SUM);

        // 2. g' = momentum on the local partition; AdamW parameters are updated here on their slice.
        float[] nsInput = new float[s];                  // g' of Muon slices at their partition offsets
        float[] local = new float[s];                    // p' of this partition
        float[] rmsShare = new float[layout.params.size()];  // Muon: exact RMS from the lowest owner; AdamW: Σdir²
        for (Param p : layout.params) {
            Piece piece = layout.piece(p, r);
            if (piece == null) continue;
            int at = piece.partitionOffset(s);
            float[] pv = be.toFloats(params.get(p.name()));
            System.arraycopy(pv, piece.from(), local, at, piece.len());
            if (!present[p.index()]) continue;                           // grad None everywhere: skipped entirely
            try (Tensor g = HostTensors.of(be, dtype, grad, at, piece.len())) {
                if (useMuon(p)) {
                    Tensor buf = slot(p, Muon.MOMENTUM_BUFFER, dtype, piece.len());
                    Tensor gp = MuonRule.momentum(be, buf, g, opt.momentum(), opt.nesterov());
                    HostTensors.read(be, gp, nsInput, at);
                    if (gp != buf) gp.close();
                } else {
                    long t = steps.merge(p.name(), 1L, Long::sum);
                    try (Tensor pt = HostTensors.of(be, dtype, local, at, piece.len())) {
                        MuonRule.AdamWStep st = MuonRule.adamw(be, pt, g, slot(p, Muon.MOMENT1, dtype, piece.len()),
                                slot(p, Muon.MOMENT2, dtype, piece.len()), t, lr, opt);
                        HostTensors.read(be, pt, local, at);
                        rmsShare[p.index()] = (float) (st.stepSize() * st.stepSize() * st.directionSumSquares());
                    }
                }
            }
        }

        // 3. G = gather(g') for spanning matrices; 4. U = NS(G); 5. p' = apply_update(p, u) on the local slice.
        Map<Integer, float[]> gathered = gatherSpanning(present, nsInput, dtype);
        for (Param p : layout.params) {
            Piece piece = layout.piece(p, r);
            if (piece == null || !present[p.index()] || !useMuon(p)) continue;
            int at = piece.partitionOffset(s);
            float[] full = layout.spans(p) ? gathered.get(p.index()) : java.util.Arrays.copyOfRange(nsInput, at, at + p.numel());
            int[] shape = p.shape();
            DType gDtype = layout.spans(p) ? gatherDtype(dtype) : dtype;
            try (Tensor matrix = HostTensors.of(be, gDtype, full, 0, shape[0], p.numel() / shape[0]);   // (A, B)
                 Tensor o = opt.newtonSchulz().apply(be, matrix);                                        // (A, B)
                 Tensor u = HostTensors.of(be, o.dtype(), be.toFloats(o), piece.from(), piece.len());    // slice
                 Tensor pt = HostTensors.of(be, dtype, local, at, piece.len())) {
                double adjustedLr = opt.adjustLr().adjust(lr, shape[0], shape[1]);
                MuonRule.applyUpdate(be, pt, u, lr, opt.weightDecay(), adjustedLr);
                HostTensors.read(be, pt, local, at);
                if (layout.firstRank(p) == r) rmsShare[p.index()] = (float) (adjustedLr * MuonRule.rms(be, o));
            }
        }

        // 6. P = all_gather(p'): every rank writes the whole flat buffer back into its parameters.
        float[] flat = new float[n * s];
        if (dtype == DType.BF16) allGatherBf16(local, flat);
        else comm.allGather(local, flat);
        for (Param p : layout.params) {
            if (!present[p.index()]) continue;
            try (Tensor updated = HostTensors.of(be, dtype, flat, p.offset(), p.shape())) {
                be.copyInto(params.get(p.name()), updated);
            }
        }

        // 7. update RMS for logging, the same map on every rank.
        comm.allReduce(rmsShare, ReduceOp.SUM);
        Map<String, Double> out = new LinkedHashMap<>();
        for (Param p : layout.params) {
            if (!present[p.index()]) continue;
            double v = rmsShare[p.index()];
            out.put(p.name(), useMuon(p) ? v : Math.sqrt(v / p.numel()));
        }
        return out;
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
        int width = java.util.Arrays.stream(perRank).max().orElse(0);
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

    /** Grad-None decided globally: a parameter is updated when any rank has its gradient. */
    private boolean[] globalGradFlags(Map<String, Tensor> grads) {
        float[] flags = new float[layout.params.size()];
        for (Param p : layout.params) if (grads.containsKey(p.name())) flags[p.index()] = 1;
        comm.allReduce(flags, ReduceOp.MAX);
        boolean[] present = new boolean[flags.length];
        for (int i = 0; i < flags.length; i++) present[i] = flags[i] > 0;
        return present;
    }

    private DType commonDtype(Map<String, Tensor> params, Map<String, Tensor> grads) {
        DType d = null;
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            DType pd = e.getValue().dtype();
            if (d == null) d = pd;
            Tensor g = grads.get(e.getKey());
            if (pd != d || (g != null && g.dtype() != d) || (d != DType.F32 && d != DType.BF16)) {
                throw new IllegalArgumentException("Distributed Muon needs every parameter and gradient in one dtype "
                        + "(F32 or BF16); '" + e.getKey() + "' is " + pd + (g == null ? "" : " with a " + g.dtype()
                        + " gradient") + ", the first parameter is " + d);
            }
        }
        if (grads.keySet().stream().anyMatch(k -> !params.containsKey(k))) {
            throw new IllegalArgumentException("gradient given for a name that is not a parameter: "
                    + grads.keySet().stream().filter(k -> !params.containsKey(k)).toList());
        }
        return d == null ? DType.F32 : d;
    }

    private Tensor slot(Param p, String slot, DType dtype, int len) {
        return slots.computeIfAbsent(p.name() + "." + slot, k -> be.zeros(dtype, len));
    }

    private void reduceScatterBf16(float[] send, float[] recv) {
        short[] bits = new short[send.length];
        Bf16.roundInto(send, bits);
        short[] out = new short[recv.length];
        comm.reduceScatterBf16(bits, out, ReduceOp.SUM);
        for (int i = 0; i < out.length; i++) recv[i] = Bf16.toFloat(out[i]);
    }

    private void allGatherBf16(float[] send, float[] recv) {
        short[] bits = new short[send.length];
        Bf16.roundInto(send, bits);
        short[] out = new short[recv.length];
        comm.allGatherBf16(bits, out);
        for (int i = 0; i < out.length; i++) recv[i] = Bf16.toFloat(out[i]);
    }

    /** Bytes of optimizer state held by this rank (its slices of momentum / AdamW moments). */
    public long stateBytes() {
        return slots.values().stream().mapToLong(t -> t.numel() * t.dtype().byteSize()).sum();
    }

    /**
     * This rank's shard: {@code <param>.<slot>} → its 1-D slice, {@code <param>.step} → I64 step count, and
     * {@code zero1.world_size} / {@code zero1.rank} so a shard is not loaded into another layout.
     */
    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        slots.forEach((k, t) -> out.put(k, be.copy(t)));
        steps.forEach((k, v) -> out.put(k + ".step", be.fromLongs(new long[]{v})));
        out.put(WORLD_SIZE, be.fromLongs(new long[]{comm.worldSize()}));
        out.put(RANK, be.fromLongs(new long[]{comm.rank()}));
        return out;
    }

    static final String WORLD_SIZE = "zero1.world_size";
    static final String RANK = "zero1.rank";

    @Override
    public void loadStateDict(Map<String, Tensor> state) {
        Tensor ws = state.get(WORLD_SIZE), rk = state.get(RANK);
        if (ws == null || rk == null) {
            throw new IllegalArgumentException("not a Distributed Muon shard: missing '" + WORLD_SIZE + "' / '" + RANK + "'");
        }
        long savedN = be.toLongs(ws)[0], savedR = be.toLongs(rk)[0];
        if (savedN != comm.worldSize() || savedR != comm.rank()) {
            throw new IllegalArgumentException("optimizer shard of rank " + savedR + " of " + savedN + " cannot be loaded"
                    + " by rank " + comm.rank() + " of " + comm.worldSize() + ": resume with the same world size ("
                    + savedN + "); re-partitioning the ZeRO-1 state is not implemented");
        }
        close();
        state.forEach((k, t) -> {
            if (k.equals(WORLD_SIZE) || k.equals(RANK)) return;
            if (k.endsWith(".step")) steps.put(k.substring(0, k.length() - 5), be.toLongs(t)[0]);
            else slots.put(k, be.copy(t));
        });
    }

    @Override
    public void close() {
        slots.values().forEach(Tensor::close);
        slots.clear();
        steps.clear();
    }

    @Override
    public String toString() {
        return "DistributedMuon(ZeRO-1 over " + comm.engine() + " × " + comm.worldSize() + ", rank " + comm.rank()
                + ", NS gather in " + opt.newtonSchulz().dtype() + ")";
    }
}
