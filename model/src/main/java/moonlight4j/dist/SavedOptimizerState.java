package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.dist.FlatLayout.Param;
import moonlight4j.dist.FlatLayout.Piece;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.io.TensorInfo;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The optimizer state a run saved, read back piece by piece whatever world size W wrote it:
 * W = 1 is one process's state dict (full-shape tensors, {@code optimizer.safetensors}), W &gt; 1 the W ZeRO-1 shards
 * of {@link Zero1Optimizer#stateDict()}. Both are the same thing seen through {@code FlatLayout(params, W)}: file q
 * holds, under {@code <param>.<slot>}, the elements of {@code piece(param, q)} in row-major order, and
 * {@code <param>.step} for every parameter with an AdamW step count that has a piece there.
 *
 * <p>Re-partitioning to N ranks is therefore, for every piece of the new layout, copying the overlapping ranges of
 * the old pieces: no arithmetic, the state moves bit for bit. Everything is checked before anything is read: each
 * shard's {@code zero1.world_size}/{@code zero1.rank}, every key names a parameter of this model, every tensor has
 * exactly its piece's element count, and a slot present for a parameter on one rank is present on every rank that
 * holds a piece of it (a checkpoint missing one is incomplete).
 */
public final class SavedOptimizerState {

    private final FlatLayout saved;                                   // the layout of the run that wrote the files
    private final List<SafetensorsFile> files;                        // file q: rank q's shard (W = 1: the state)
    private final Map<String, Param> byName = new LinkedHashMap<>();
    private final Map<String, Set<String>> slots = new LinkedHashMap<>();    // param → slots with state
    private final Map<String, DType> dtypes = new LinkedHashMap<>();         // "<param>.<slot>" → dtype
    private final Map<String, Long> steps = new LinkedHashMap<>();           // param → step count

    /**
     * @param params the model's parameters in checkpoint order (names and shapes define the layouts)
     * @param files  the saved files, rank order; their count is the world size that wrote them
     * @throws IllegalArgumentException naming the file and key when the files are not a complete, matching state
     */
    public SavedOptimizerState(Map<String, Tensor> params, List<SafetensorsFile> files) {
        if (files.isEmpty()) throw new IllegalArgumentException("no optimizer state files given");
        this.saved = new FlatLayout(params, files.size());
        this.files = List.copyOf(files);
        for (Param p : saved.params) byName.put(p.name(), p);
        for (int q = 0; q < files.size(); q++) index(q, files.get(q));
        for (Map.Entry<String, Set<String>> e : slots.entrySet()) checkComplete(byName.get(e.getKey()), e.getValue());
    }

    private void index(int q, SafetensorsFile f) {
        int w = files.size();
        if (w > 1 || f.has(Zero1Optimizer.WORLD_SIZE)) {
            long ws = scalar(f, Zero1Optimizer.WORLD_SIZE), rk = scalar(f, Zero1Optimizer.RANK);
            if (ws != w || rk != q) {
                throw new IllegalArgumentException(f.path() + ": a shard of rank " + rk + " of " + ws + ", but it is file #"
                        + q + " of the " + w + " given (rank order, one per rank of the run that wrote them)");
            }
        }
        for (String key : f.names()) {
            if (key.equals(Zero1Optimizer.WORLD_SIZE) || key.equals(Zero1Optimizer.RANK)) continue;
            int dot = key.lastIndexOf('.');
            Param p = dot < 0 ? null : byName.get(key.substring(0, dot));
            if (p == null) {
                throw new IllegalArgumentException(f.path() + ": optimizer state '" + key + "' names no parameter of this "
                        + "model (expected <parameter>.<slot>)");
            }
            String slot = key.substring(dot + 1);
            TensorInfo t = f.info(key);
            if (slot.equals("step")) {
                long v = scalar(f, key);
                Long before = steps.putIfAbsent(p.name(), v);
                if (before != null && before != v) {
                    throw new IllegalArgumentException(f.path() + ": '" + key + "' is " + v + " but an earlier shard says "
                            + before + "; the shards come from different steps");
                }
                continue;
            }
            Piece piece = saved.piece(p, q);
            long want = piece == null ? 0 : piece.len();
            if (t.numel() != want || (t.dtype() != DType.F32 && t.dtype() != DType.BF16)) {
                throw new IllegalArgumentException(f.path() + ": '" + key + "' is " + t.dtype() + " " + Shapes.str(t.shape())
                        + "; expected F32 or BF16 with " + want + " elements (rank " + q + "'s piece of " + p.name() + " "
                        + Shapes.str(p.shape()) + " when " + w + " rank(s) share the flat buffer)");
            }
            if (!f.has(Zero1Optimizer.WORLD_SIZE) && !java.util.Arrays.equals(t.shape(), p.shape())) {
                throw new IllegalArgumentException(f.path() + ": '" + key + "' has shape " + Shapes.str(t.shape())
                        + "; expected the shape of " + p.name() + ", " + Shapes.str(p.shape()));
            }
            DType before = dtypes.putIfAbsent(key, t.dtype());
            if (before != null && before != t.dtype()) {
                throw new IllegalArgumentException(f.path() + ": '" + key + "' is " + t.dtype() + ", another shard has "
                        + before);
            }
            slots.computeIfAbsent(p.name(), k -> new LinkedHashSet<>()).add(slot);
        }
    }

    /** Every rank holding a piece of {@code p} must have every slot some rank has for it. */
    private void checkComplete(Param p, Set<String> have) {
        for (int q = saved.firstRank(p); q <= saved.lastRank(p); q++) {
            if (saved.piece(p, q) == null) continue;
            for (String slot : have) {
                if (!files.get(q).has(p.name() + "." + slot)) {
                    throw new IllegalArgumentException(files.get(q).path() + ": incomplete checkpoint, '" + p.name() + "."
                            + slot + "' is missing (other shards hold that state)");
                }
            }
        }
    }

    private static long scalar(SafetensorsFile f, String key) {
        if (!f.has(key)) throw new IllegalArgumentException(f.path() + ": missing '" + key + "' (an I64 scalar)");
        TensorInfo t = f.info(key);
        if (t.dtype() != DType.I64 || t.numel() != 1) {
            throw new IllegalArgumentException(f.path() + ": '" + key + "' must be an I64 scalar, is " + t.dtype() + " "
                    + Shapes.str(t.shape()));
        }
        return f.bytes(key).getLong(0);
    }

    /**
     * Checks every parameter's saved slots against the optimizer that will load them: a parameter with state must
     * have exactly {@code expected.apply(name, shape)} (the AdamW step count included as {@code step}); one without
     * any state never had a gradient and is fine. An AdamW state offered to Muon thus fails on the first hidden
     * matrix, naming its missing {@code momentum_buffer}.
     *
     * @param optimizer the optimizer's name, for the message
     */
    public void checkSlots(String optimizer, java.util.function.BiFunction<String, int[], Set<String>> expected) {
        for (Param p : saved.params) {
            Set<String> have = new java.util.TreeSet<>(slots(p.name()));
            if (step(p.name()) != null) have.add("step");
            if (have.isEmpty()) continue;
            Set<String> want = new java.util.TreeSet<>(expected.apply(p.name(), p.shape()));
            if (!have.equals(want)) {
                Set<String> missing = new java.util.TreeSet<>(want);
                missing.removeAll(have);
                Set<String> extra = new java.util.TreeSet<>(have);
                extra.removeAll(want);
                throw new IllegalArgumentException(where() + ": the optimizer state of " + p.name() + " has " + have
                        + " but " + optimizer + " keeps " + want + " for it" + (missing.isEmpty() ? ""
                        : "; missing " + String.join(", ", missing)) + (extra.isEmpty() ? ""
                        : "; unexpected " + String.join(", ", extra))
                        + " (was the checkpoint written by another optimizer?)");
            }
        }
    }

    /** The first saved {@code <param>.<slot>} holding a NaN/Inf, or null; reads every saved value once. */
    public String firstNonFinite() {
        for (Param p : saved.params) {
            for (String slot : slots(p.name())) {
                for (float v : read(p.name(), slot, 0, p.numel())) {
                    if (!Float.isFinite(v)) return p.name() + "." + slot;
                }
            }
        }
        return null;
    }

    /** The saved file (one process) or the directory of the shards, for messages. */
    public String where() {
        return files.size() == 1 ? files.get(0).path().toString()
                : "the " + files.size() + " optimizer shards in " + files.get(0).path().getParent();
    }

    /** The world size that wrote the files. */
    public int worldSize() {
        return files.size();
    }

    /** The slots with saved state for {@code param} (empty when it never had a gradient). */
    public Set<String> slots(String param) {
        return slots.getOrDefault(param, Set.of());
    }

    /** The saved dtype of {@code <param>.<slot>}. */
    public DType dtype(String param, String slot) {
        return dtypes.get(param + "." + slot);
    }

    /** The AdamW step count of {@code param}, or null when none was saved. */
    public Long step(String param) {
        return steps.get(param);
    }

    /**
     * Elements {@code [from, from+len)} of {@code <param>.<slot>} flattened row-major, copied from the saved pieces
     * that overlap them (bf16 values as exact floats).
     */
    public float[] read(String param, String slot, int from, int len) {
        Param p = byName.get(param);
        float[] out = new float[len];
        String key = param + "." + slot;
        for (int q = saved.firstRank(p); q <= saved.lastRank(p); q++) {
            Piece theirs = saved.piece(p, q);
            if (theirs == null) continue;
            int lo = Math.max(from, theirs.from()), hi = Math.min(from + len, theirs.from() + theirs.len());
            if (hi <= lo) continue;
            ByteBuffer b = files.get(q).bytes(key);
            boolean bf16 = dtype(param, slot) == DType.BF16;
            for (int i = lo; i < hi; i++) {
                int at = i - theirs.from();
                out[i - from] = bf16 ? Float.intBitsToFloat((b.getShort(2 * at) & 0xFFFF) << 16) : b.getFloat(4 * at);
            }
        }
        return out;
    }

    /** The whole state as one process keeps it: full-shape tensors {@code <param>.<slot>} and {@code <param>.step}. */
    public Map<String, Tensor> unsharded(Backend be) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Param p : saved.params) {
                for (String slot : slots(p.name())) {
                    out.put(p.name() + "." + slot, HostTensors.of(be, dtype(p.name(), slot),
                            read(p.name(), slot, 0, p.numel()), 0, p.shape()));
                }
                Long st = step(p.name());
                if (st != null) out.put(p.name() + ".step", be.fromLongs(new long[]{st}));
            }
        } catch (RuntimeException e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
        return out;
    }
}
