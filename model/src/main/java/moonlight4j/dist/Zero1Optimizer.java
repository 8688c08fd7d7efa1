package moonlight4j.dist;

import moonlight4j.api.Bf16;
import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.dist.FlatLayout.Param;
import moonlight4j.optim.Optimizer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * ZeRO-1 around an element-wise-partitionable update (docs/muon.md#distributed-muon, standard ZeRO-1): the parameters
 * in a fixed order form a {@link FlatLayout}; each step
 * <pre>
 *   present = all_reduce_max(has a gradient)        grad-None decided globally (absent on a rank: zeros)
 *   g       = reduce_scatter_sum(flat G)             this rank's partition of the summed gradient
 *   p'      = {@link #updatePartition}               the subclass's rule on its partition (state for it only)
 *   P       = all_gather(p')                         every rank writes the whole flat buffer back
 *   rms     = all_reduce_sum(per-parameter shares)   the same update-RMS map on every rank
 * </pre>
 * Gradients are summed over ranks: each rank passes the gradient of its share of the global loss. Parameters and
 * gradients share one dtype (F32 or BF16); collectives carry that dtype.
 */
public abstract class Zero1Optimizer implements Optimizer {

    final Backend be;
    final Collective comm;
    FlatLayout layout;
    private final Map<String, Tensor> slots = new LinkedHashMap<>();   // "<param>.<slot>" → this rank's slice
    final Map<String, Long> steps = new LinkedHashMap<>();              // step counts of params with a slice here
    private double clip;                                                 // global-norm clipping threshold, 0 = off
    private double lastGradNorm = Double.NaN;

    Zero1Optimizer(Backend be, Collective comm) {
        this.be = be;
        this.comm = comm;
    }

    /** What {@link #updatePartition} works on; arrays are indexed by partition offset (S elements). */
    record Partition(Map<String, Tensor> params, DType dtype, boolean[] present, float[] grad, float[] local,
                     float[] rmsShare, double lr) {
    }

    /**
     * Updates {@code part.local} (this rank's partition of the parameters) from {@code part.grad}; for every
     * present parameter puts into {@code rmsShare[index]} either its final update RMS (from exactly one rank, others
     * leave 0) or, when {@link #rmsFromSquares} is true for it, this rank's {@code stepSize²·Σdirection²}.
     */
    abstract void updatePartition(Partition part);

    /** True when the parameter's RMS share is a sum of squares to be turned into {@code √(Σ/numel)}. */
    abstract boolean rmsFromSquares(Param p);

    /** The state slots this optimizer keeps per parameter slice (besides the AdamW step count). */
    abstract Set<String> slotNames();

    /** Builds the flat layout at first use (a collective: every rank checks it has the same parameter set). */
    private void bind(Map<String, Tensor> params) {
        if (layout == null) {
            layout = new FlatLayout(params, comm.worldSize());
            DataParallel.checkSameConfig(comm, layout.describe());      // same parameter set on every rank
        }
        layout.check(params);
    }

    @Override
    public final Map<String, Double> step(Map<String, Tensor> params, Map<String, Tensor> grads, double lr) {
        bind(params);
        DType dtype = commonDtype(params, grads);
        int n = comm.worldSize(), r = comm.rank(), s = layout.partitionSize;
        boolean[] present = globalGradFlags(grads);

        float[] flatGrad = new float[n * s];                            // (N·S), zeros where no gradient
        for (Param p : layout.params) {
            Tensor g = grads.get(p.name());
            if (g != null) HostTensors.read(be, g, flatGrad, p.offset());
        }
        float[] grad = new float[s];                                     // (S)
        if (dtype == DType.BF16) reduceScatterBf16(flatGrad, grad);
        else comm.reduceScatter(flatGrad, grad, ReduceOp.SUM);

        clipSummedGradient(grad);

        float[] local = new float[s];                                    // this partition of the parameters
        for (Param p : layout.params) {
            FlatLayout.Piece piece = layout.piece(p, r);
            if (piece == null) continue;
            float[] pv = be.toFloats(params.get(p.name()));
            System.arraycopy(pv, piece.from(), local, piece.partitionOffset(s), piece.len());
        }
        float[] rmsShare = new float[layout.params.size()];
        updatePartition(new Partition(params, dtype, present, grad, local, rmsShare, lr));

        float[] flat = new float[n * s];
        if (dtype == DType.BF16) allGatherBf16(local, flat);
        else comm.allGather(local, flat);
        for (Param p : layout.params) {
            if (!present[p.index()]) continue;
            try (Tensor updated = HostTensors.of(be, dtype, flat, p.offset(), p.shape())) {
                be.copyInto(params.get(p.name()), updated);
            }
        }

        comm.allReduce(rmsShare, ReduceOp.SUM);
        Map<String, Double> out = new LinkedHashMap<>();
        for (Param p : layout.params) {
            if (!present[p.index()]) continue;
            double v = rmsShare[p.index()];
            out.put(p.name(), rmsFromSquares(p) ? Math.sqrt(v / p.numel()) : v);
        }
        return out;
    }

    /**
     * Global-norm clipping of the SUMMED gradient, as {@code torch.nn.utils.clip_grad_norm_} on one process:
     * {@code n = √(Σ g²)} over all partitions (each rank's Σ in double, all-gathered exactly as 64-bit patterns and
     * added in rank order, so every rank gets the same n); when {@code clip > 0} and {@code n > clip} the partition
     * is scaled by {@code clip / (n + 1e-6)}. n is kept for {@link #lastGradNorm()}.
     */
    private void clipSummedGradient(float[] grad) {
        double ss = 0;
        for (float g : grad) ss += (double) g * g;
        long[] all = new long[comm.worldSize()];
        comm.allGatherLongs(new long[]{Double.doubleToRawLongBits(ss)}, all);
        double total = 0;
        for (long bits : all) total += Double.longBitsToDouble(bits);
        lastGradNorm = Math.sqrt(total);
        if (clip > 0 && lastGradNorm > clip) {
            double f = clip / (lastGradNorm + 1e-6);
            for (int i = 0; i < grad.length; i++) grad[i] = (float) (grad[i] * f);
        }
    }

    /** Sets the global-norm clipping threshold applied inside {@link #step} (0 = off). */
    public void setClip(double maxNorm) {
        if (!(maxNorm >= 0)) throw new IllegalArgumentException("clip must be ≥ 0, got " + maxNorm);
        this.clip = maxNorm;
    }

    /** The global L2 norm of the summed gradient at the last {@link #step} (before clipping). */
    public double lastGradNorm() {
        return lastGradNorm;
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
                throw new IllegalArgumentException(getClass().getSimpleName() + " needs every parameter and gradient in"
                        + " one dtype (F32 or BF16); '" + e.getKey() + "' is " + pd + (g == null ? "" : " with a "
                        + g.dtype() + " gradient") + ", the first parameter is " + d);
            }
        }
        if (grads.keySet().stream().anyMatch(k -> !params.containsKey(k))) {
            throw new IllegalArgumentException("gradient given for a name that is not a parameter: "
                    + grads.keySet().stream().filter(k -> !params.containsKey(k)).toList());
        }
        return d == null ? DType.F32 : d;
    }

    /** This rank's slice of {@code slot} for {@code p}, zeros at first use. */
    Tensor slot(Param p, String slot, DType dtype, int len) {
        return slots.computeIfAbsent(p.name() + "." + slot, k -> TensorScope.outside(() -> be.zeros(dtype, len)));
    }

    void reduceScatterBf16(float[] send, float[] recv) {
        short[] bits = new short[send.length];
        Bf16.roundInto(send, bits);
        short[] out = new short[recv.length];
        comm.reduceScatterBf16(bits, out, ReduceOp.SUM);
        for (int i = 0; i < out.length; i++) recv[i] = Bf16.fromBits(out[i]);
    }

    void allGatherBf16(float[] send, float[] recv) {
        short[] bits = new short[send.length];
        Bf16.roundInto(send, bits);
        short[] out = new short[recv.length];
        comm.allGatherBf16(bits, out);
        for (int i = 0; i < out.length; i++) recv[i] = Bf16.fromBits(out[i]);
    }

    /** Bytes of optimizer state held by this rank (its slices). */
    public long stateBytes() {
        return slots.values().stream().mapToLong(t -> t.numel() * t.dtype().byteSize()).sum();
    }

    static final String WORLD_SIZE = "zero1.world_size";
    static final String RANK = "zero1.rank";

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

    @Override
    public void loadStateDict(Map<String, Tensor> state) {
        Tensor ws = state.get(WORLD_SIZE), rk = state.get(RANK);
        if (ws == null || rk == null) {
            throw new IllegalArgumentException("not a ZeRO-1 optimizer shard: missing '" + WORLD_SIZE + "' / '" + RANK + "'");
        }
        long savedN = be.toLongs(ws)[0], savedR = be.toLongs(rk)[0];
        if (savedN != comm.worldSize() || savedR != comm.rank()) {
            throw new IllegalArgumentException("optimizer shard of rank " + savedR + " of " + savedN + " cannot be loaded"
                    + " by rank " + comm.rank() + " of " + comm.worldSize() + ": resume with the same world size ("
                    + savedN + ") or re-partition with load(params, SavedOptimizerState), as --resume does");
        }
        close();
        state.forEach((k, t) -> {
            if (k.equals(WORLD_SIZE) || k.equals(RANK)) return;
            if (k.endsWith(".step")) steps.put(k.substring(0, k.length() - 5), be.toLongs(t)[0]);
            else slots.put(k, TensorScope.outside(() -> be.copy(t)));
        });
    }

    /**
     * Replaces the state by this rank's slices of {@code saved}, whatever world size wrote it: the same world size
     * reads back its own shard, another one re-partitions (SavedOptimizerState: bits copied, no arithmetic), and
     * W = 1 is a one-process run's state. A collective: every rank calls it.
     */
    public void load(Map<String, Tensor> params, SavedOptimizerState saved) {
        for (Map.Entry<String, Tensor> e : params.entrySet()) {   // every rank checks every parameter alike, first
            for (String slot : saved.slots(e.getKey())) {
                String key = e.getKey() + "." + slot;
                if (!slotNames().contains(slot)) {
                    throw new IllegalArgumentException("optimizer state '" + key + "': " + getClass().getSimpleName()
                            + " keeps " + slotNames() + " (was the checkpoint written by another optimizer?)");
                }
                if (saved.dtype(e.getKey(), slot) != e.getValue().dtype()) {
                    throw new IllegalArgumentException("optimizer state '" + key + "' is " + saved.dtype(e.getKey(), slot)
                            + " but the parameter is " + e.getValue().dtype() + " (state and parameters share one dtype)");
                }
            }
        }
        bind(params);
        int r = comm.rank();
        Map<String, Tensor> newSlots = new LinkedHashMap<>();
        Map<String, Long> newSteps = new LinkedHashMap<>();
        try {
            for (Param p : layout.params) {
                FlatLayout.Piece piece = layout.piece(p, r);
                if (piece == null) continue;
                for (String slot : saved.slots(p.name())) {
                    float[] v = saved.read(p.name(), slot, piece.from(), piece.len());
                    newSlots.put(p.name() + "." + slot, HostTensors.of(be, saved.dtype(p.name(), slot), v, 0, piece.len()));
                }
                Long st = saved.step(p.name());
                if (st != null) newSteps.put(p.name(), st);
            }
        } catch (RuntimeException e) {
            newSlots.values().forEach(Tensor::close);
            throw e;
        }
        close();
        slots.putAll(newSlots);
        steps.putAll(newSteps);
    }

    @Override
    public void close() {
        slots.values().forEach(Tensor::close);
        slots.clear();
        steps.clear();
    }
}
