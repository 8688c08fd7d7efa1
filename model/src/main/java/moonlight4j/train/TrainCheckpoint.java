package moonlight4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.io.AtomicFiles;
import moonlight4j.api.Tensor;
import moonlight4j.dist.SavedOptimizerState;
import moonlight4j.dist.Zero1Optimizer;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.Parameters;
import moonlight4j.data.BatchSampler;
import moonlight4j.optim.AdamW;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Optimizer;
import moonlight4j.optim.ParamSplit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.stream.Stream;

/**
 * Training checkpoints under {@code <run>/checkpoints/}:
 * <pre>
 *   step-000100/model/               HF layout (config.json + model.safetensors), usable with --init and inspect
 *   step-000100/optimizer.safetensors  the optimizer's stateDict (moments, momentum buffers, step counts)
 *   step-000100/trainer_state.json     step, data position (epoch, position), seed, options that must match,
 *                                      world_size and the optimizer files
 *   latest                             the name of the newest complete checkpoint
 * </pre>
 * A checkpoint is written into a hidden temporary directory, renamed to {@code step-N} when complete, then
 * {@code latest} is replaced atomically, and only then the previous checkpoint is deleted: a crash at any point
 * leaves the last good checkpoint loadable. The random state is the data order's (seed, epoch, position): the
 * permutation of an epoch is a function of (seed, epoch), so nothing else needs saving.
 *
 * <p>Data-parallel runs write per-rank ZeRO-1 shards {@code optimizer-rank-00001-of-00004.safetensors}
 * instead of {@code optimizer.safetensors}; rank 0 writes the model (identical on every rank after the all-gather)
 * and {@code trainer_state.json}. All ranks write into the same hidden directory (so ranks on several machines need
 * a shared filesystem) and agree after each phase: the rename happens only when every rank reports its shard
 * written, so a checkpoint holds all ranks or does not exist. {@link #restore} reads any world size's checkpoint into
 * any other (re-partitioning the optimizer state, {@link SavedOptimizerState}), one process's included.
 */
public final class TrainCheckpoint {

    static final ObjectMapper JSON = new ObjectMapper();
    public static final String LATEST = "latest";
    static final String OPTIMIZER_FILE = "optimizer.safetensors";

    /** Called between the parts of a save, for tests that simulate a crash midway. */
    public interface SaveHook {
        void afterPart(String part) throws IOException;

        SaveHook NONE = p -> {
        };
    }

    private TrainCheckpoint() {
    }

    /** The optimizer file of rank {@code r} of {@code n} ({@code optimizer.safetensors} for one process). */
    static String optimizerFile(int r, int n, boolean sharded) {
        return sharded ? String.format("optimizer-rank-%05d-of-%05d.safetensors", r, n) : OPTIMIZER_FILE;
    }

    /**
     * Writes a checkpoint of {@code t} into {@code checkpoints}; returns its directory. In a data-parallel run every
     * rank calls it (a collective); a failure on any rank fails the save on every rank and leaves no checkpoint.
     */
    public static Path save(Trainer t, Path checkpoints, String datasetName, SaveHook hook) throws IOException {
        return t.comm() == null ? saveOne(t, checkpoints, datasetName, hook)
                : DistCheckpoint.save(t, t.comm(), checkpoints, datasetName, hook);
    }

    static String stepName(Trainer t) {
        return String.format("step-%06d", t.stepCount());
    }

    private static Path saveOne(Trainer t, Path checkpoints, String datasetName, SaveHook hook) throws IOException {
        return saveAtomically(checkpoints, stepName(t), tmp -> {
            MoonlightCheckpoint.save(tmp.resolve("model"), t.config(), t.parameters());
            hook.afterPart("model");
            writeOptimizer(t.optimizer(), t.options().optimizer(), tmp.resolve(OPTIMIZER_FILE));
            hook.afterPart("optimizer");
            writeTrainerState(t, tmp, datasetName, 1, List.of(OPTIMIZER_FILE));
            hook.afterPart("trainer_state");
        });
    }

    /** What writes a checkpoint's files into its (temporary) directory. */
    public interface Parts {
        void writeInto(Path dir) throws IOException;
    }

    /**
     * The one-process write of every checkpoint (training and fine-tuning): {@code parts} fill a hidden temporary
     * directory in {@code checkpoints}, which {@link #commit} renames to {@code name} and points {@code latest} at;
     * on any failure the temporary directory is removed and {@code latest} still names the previous checkpoint.
     */
    public static Path saveAtomically(Path checkpoints, String name, Parts parts) throws IOException {
        Path tmp = null;
        try {
            Files.createDirectories(checkpoints);
            tmp = Files.createTempDirectory(checkpoints, "." + name + ".");
            parts.writeInto(tmp);
            syncFiles(tmp);
            return commit(checkpoints, tmp, name);
        } catch (IOException e) {
            deleteQuietly(tmp, e);
            throw new IOException("checkpoint " + checkpoints.resolve(name) + " not written: "
                    + IoErrors.describe(e) + "; the previous checkpoint (if any) is still the latest", e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp, e);
            throw e;
        }
    }

    private static void deleteQuietly(Path tmp, Exception primary) {
        if (tmp == null) return;
        try {
            deleteTree(tmp);
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }

    /** Forces every file under {@code dir} to disk (before the rename that publishes them). */
    private static void syncFiles(Path dir) throws IOException {
        try (Stream<Path> w = Files.walk(dir)) {
            for (Path p : w.filter(Files::isRegularFile).toList()) AtomicFiles.syncFile(p);
        }
        AtomicFiles.syncDirectory(dir);
    }

    /**
     * Removes what an interrupted save leaves in {@code checkpoints}: hidden {@code .step-N.*} directories and
     * {@code .latest.*.tmp} files. Called by the process that owns the directory before its first save.
     */
    public static void removeLeftovers(Path checkpoints) throws IOException {
        if (!Files.isDirectory(checkpoints)) return;
        try (Stream<Path> s = Files.list(checkpoints)) {
            for (Path p : s.filter(x -> x.getFileName().toString().matches("\\.step-\\d+\\..*|\\.latest\\..*\\.tmp"))
                    .toList()) {
                deleteTree(p);
            }
        }
    }

    /** {@code optimizer.stateDict()} into {@code file}, its tensors closed after. */
    public static void writeOptimizer(Optimizer optimizer, String optimizerName, Path file) throws IOException {
        Map<String, Tensor> state = optimizer.stateDict();
        try {
            Safetensors.write(file, state, Map.of("optimizer", optimizerName));
        } finally {
            state.values().forEach(Tensor::close);
        }
    }

    static void writeTrainerState(Trainer t, Path dir, String datasetName, int worldSize, List<String> files)
            throws IOException {
        ObjectNode s = JSON.createObjectNode();
        s.put("step", t.stepCount()).put("epoch", t.sampler().epoch()).put("position", t.sampler().position())
                .put("seed", t.options().seed()).put("optimizer", t.options().optimizer())
                .put("batch_size", t.options().batchSize()).put("grad_accum", t.options().gradAccum())
                .put("dataset", datasetName).put("world_size", worldSize);
        ArrayNode f = s.putArray("optimizer_files");
        files.forEach(f::add);
        TrainerStateJson.writeDurably(dir.resolve(TrainerStateJson.FILE), JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(s) + "\n");
    }

    /** Renames the complete {@code tmp} to {@code name}, points {@code latest} at it, deletes the previous one. */
    static Path commit(Path checkpoints, Path tmp, String name) throws IOException {
        Path target = checkpoints.resolve(name);
        deleteTree(target);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        String previous = latestName(checkpoints);
        Path pointerTmp = Files.createTempFile(checkpoints, ".latest.", ".tmp");
        TrainerStateJson.writeDurably(pointerTmp, name + "\n");
        Files.move(pointerTmp, checkpoints.resolve(LATEST), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        AtomicFiles.syncDirectory(checkpoints);
        if (previous != null && !previous.equals(name)) {
            try {
                deleteTree(checkpoints.resolve(previous));
            } catch (IOException e) {                                      // the new checkpoint stands regardless
                System.err.println("warning: could not delete the previous checkpoint " + checkpoints.resolve(previous)
                        + ": " + e);
            }
        }
        return target;
    }

    private static String latestName(Path checkpoints) throws IOException {
        Path p = checkpoints.resolve(LATEST);
        return Files.isRegularFile(p) ? Files.readString(p, StandardCharsets.UTF_8).trim() : null;
    }

    /**
     * The checkpoint directory that {@code dir} names: a checkpoint itself (has trainer_state.json), a
     * {@code checkpoints} directory or a run directory (via {@code latest}).
     */
    public static Path resolve(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("trainer_state.json"))) return dir;
        for (Path c : new Path[]{dir, dir.resolve("checkpoints")}) {
            String latest = Files.isDirectory(c) ? latestName(c) : null;
            if (latest != null && Files.isRegularFile(c.resolve(latest).resolve("trainer_state.json"))) {
                return c.resolve(latest);
            }
        }
        throw new IllegalArgumentException("--resume " + dir + ": not a checkpoint (no trainer_state.json, and no "
                + "checkpoints/latest pointing at one)");
    }

    /** The model weights of a checkpoint (its {@code model/} directory). */
    public static Path modelDir(Path checkpoint) {
        return checkpoint.resolve("model");
    }

    /** Reads trainer_state.json (strictly: an error names the file when it is not one JSON object). */
    public static TrainerStateJson state(Path checkpoint) throws IOException {
        return TrainerStateJson.read(checkpoint);
    }

    /**
     * The optimizer state slots {@code optimizer} keeps for a parameter that has state: Muon a momentum buffer for a
     * hidden matrix ({@link ParamSplit#RELEASE}), its internal AdamW — and AdamW for every parameter — two moments and a
     * step count.
     */
    public static BiFunction<String, int[], Set<String>> slotsKeptBy(String optimizer) {
        Set<String> adamw = Set.of(AdamW.MOMENT1, AdamW.MOMENT2, "step");
        if (!optimizer.equals("muon")) return (n, shape) -> adamw;
        return (n, shape) -> ParamSplit.RELEASE.useMuon(n, shape) ? Set.of(Muon.MOMENTUM_BUFFER) : adamw;
    }

    /**
     * Checks a saved optimizer state before it is loaded: every parameter's slots are those {@code optimizer} keeps
     * ({@link #slotsKeptBy}), and every value is finite.
     */
    public static void checkOptimizerState(SavedOptimizerState saved, String optimizer) {
        saved.checkSlots(optimizer, slotsKeptBy(optimizer));
        String bad = saved.firstNonFinite();
        if (bad != null) {
            throw new IllegalArgumentException(saved.where() + ": optimizer state '" + bad + "' holds NaN/Inf; a "
                    + "checkpoint's state must be finite (resume from an earlier checkpoint)");
        }
    }

    /** Checks that weights read from {@code where} are finite before they replace a run's weights. */
    public static void checkWeights(Backend be, Path where, Parameters weights) {
        String bad = FiniteGuard.firstNonFinite(be, weights.names(), weights.asMap());
        if (bad != null) {
            throw new IllegalArgumentException(where + ": weight " + bad + " holds NaN/Inf; a checkpoint's weights must "
                    + "be finite (resume from an earlier checkpoint)");
        }
    }

    /**
     * The (step, epoch, position) of trainer_state.json, each a non-negative integer and consistent with each other
     * for {@code t}'s data: step k ≥ 1 of batches of B of n chunks (drop_last, ⌊n/B⌋ batches an epoch) ends in epoch
     * ⌊(k−1)/⌊n/B⌋⌋ at position ((k−1) mod ⌊n/B⌋ + 1)·B.
     */
    static int[] position(TrainerStateJson s, Trainer t) {
        int step = s.count("step"), epoch = s.count("epoch"), position = s.count("position");
        BatchSampler b = t.sampler();
        int perEpoch = b.size() / b.batch();
        int wantEpoch = step == 0 ? 0 : (step - 1) / perEpoch;
        int wantPosition = step == 0 ? 0 : ((step - 1) % perEpoch + 1) * b.batch();
        if (epoch != wantEpoch || position != wantPosition) {
            throw s.error("position", position + " (epoch " + epoch + ") does not match step " + step + ": with "
                    + b.size() + " chunks drawn " + b.batch() + " a step, step " + step + " ends in epoch " + wantEpoch
                    + " at position " + wantPosition);
        }
        return new int[]{step, epoch, position};
    }

    /**
     * Checks that {@code checkpoint} was written by a run with the same config, optimizer and batch layout as
     * {@code t} (an error listing every difference, before any work starts).
     */
    public static void checkCompatible(Path checkpoint, Trainer t, String datasetName) throws IOException {
        TrainerStateJson s = state(checkpoint);
        JsonNode savedCfg = JSON.readTree(modelDir(checkpoint).resolve("config.json").toFile());
        java.util.List<String> diffs = new java.util.ArrayList<>();
        ObjectNode ours = t.config().toJson();
        for (java.util.Iterator<String> it = ours.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            // the dtype and the tokenizer's special-token ids (written with the model since bos/eos became real ids)
            // change no weight and no step: a checkpoint from before still resumes
            if (f.equals("torch_dtype") || f.equals("bos_token_id") || f.equals("eos_token_id")) continue;
            if (!ours.get(f).equals(savedCfg.get(f))) diffs.add("config " + f + ": checkpoint " + savedCfg.get(f) + ", this run " + ours.get(f));
        }
        String optimizer = s.text("optimizer");
        int batch = (int) s.integer("batch_size", 1, Integer.MAX_VALUE);
        int accum = (int) s.integer("grad_accum", 1, Integer.MAX_VALUE, 1);
        long seed = s.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        String dataset = s.text("dataset");
        if (!optimizer.equals(t.options().optimizer())) {
            diffs.add("optimizer: checkpoint " + optimizer + ", this run " + t.options().optimizer());
        }
        if (batch != t.options().batchSize()) {
            diffs.add("batch size: checkpoint " + batch + ", this run " + t.options().batchSize());
        }
        if (accum != t.options().gradAccum()) {                              // decides each step's rows
            diffs.add("grad accumulation: checkpoint " + accum + ", this run " + t.options().gradAccum());
        }
        if (seed != t.options().seed()) {
            diffs.add("seed: checkpoint " + seed + ", this run " + t.options().seed());
        }
        if (!dataset.equals(datasetName)) {
            diffs.add("dataset: checkpoint " + dataset + ", this run " + datasetName);
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("--resume " + checkpoint + " comes from a different run: "
                    + String.join("; ", diffs));
        }
    }

    /**
     * Loads weights (into the trainer's parameter tensors, in place), optimizer state and counters. The optimizer
     * state may come from any world size: a data-parallel trainer takes its ZeRO-1 slices (its own shard when the
     * world size is the same, re-partitioned otherwise), one process takes the whole state.
     */
    public static void restore(Path checkpoint, Trainer t, Backend be) throws IOException {
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            int[] at = null;
            SavedOptimizerState saved = null;
            Exception failure = null;
            try {                                                   // reading: may fail on one rank only
                TrainerStateJson s = state(checkpoint);
                at = position(s, t);
                List<Path> optimizerFiles = optimizerFiles(checkpoint, s);
                MoonlightCheckpoint.Loaded l = MoonlightCheckpoint.load(modelDir(checkpoint), be);
                try {
                    checkWeights(be, modelDir(checkpoint), l.parameters());
                    Parameters p = t.parameters();
                    for (String n : p.names()) be.copyInto(p.get(n), l.parameters().get(n));
                } finally {
                    l.parameters().asMap().values().forEach(Tensor::close);
                }
                for (Path f : optimizerFiles) files.add(Safetensors.open(f));
                saved = new SavedOptimizerState(t.parameters().asMap(), files);
                checkOptimizerState(saved, t.options().optimizer());
            } catch (IOException | RuntimeException e) {
                failure = e;
                at = null;
            }
            if (t.comm() != null) {
                DistCheckpoint.agreeRead(t.comm(), checkpoint, failure, at == null ? null : new long[]{
                        at[0], at[1], at[2]});
            }
            if (failure instanceof IOException io) throw io;
            if (failure != null) throw (RuntimeException) failure;
            if (t.optimizer() instanceof Zero1Optimizer z) {
                z.load(t.parameters().asMap(), saved);
            } else {
                Map<String, Tensor> state = saved.unsharded(be);
                try {
                    t.optimizer().loadStateDict(state);
                } finally {
                    state.values().forEach(Tensor::close);
                }
            }
            t.restore(at[0], at[1], at[2]);
        } finally {
            files.forEach(SafetensorsFile::close);
        }
    }

    /** The world size that wrote {@code checkpoint} (1 for a checkpoint of one process). */
    public static int worldSize(Path checkpoint) throws IOException {
        return (int) state(checkpoint).integer("world_size", 1, Integer.MAX_VALUE, 1);
    }

    /** The optimizer files trainer_state.json lists (older checkpoints: optimizer.safetensors), each present. */
    private static List<Path> optimizerFiles(Path checkpoint, TrainerStateJson s) {
        List<Path> out = new ArrayList<>();
        int worldSize = (int) s.integer("world_size", 1, Integer.MAX_VALUE, 1);
        JsonNode names = s.tree().path("optimizer_files");
        if (names.isMissingNode()) {
            out.add(checkpoint.resolve(OPTIMIZER_FILE));
        } else {
            if (!names.isArray()) throw s.error("optimizer_files", "must be an array of file names, got " + names);
            for (JsonNode n : names) {
                if (!n.isTextual()) throw s.error("optimizer_files", "must hold file names (strings), got " + n);
                out.add(checkpoint.resolve(n.asText()));
            }
        }
        if (out.isEmpty() || out.size() != worldSize) {
            throw new IllegalArgumentException(s.file() + ": world_size " + worldSize + " but " + out.size()
                    + " optimizer_files");
        }
        for (Path f : out) {
            if (!f.getParent().equals(checkpoint) || !Files.isRegularFile(f)) {
                throw new IllegalArgumentException("incomplete checkpoint " + checkpoint + ": optimizer file " + f
                        + " is missing");
            }
        }
        return out;
    }

    /** Deletes {@code p} and everything below it, if it exists. */
    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> w = Files.walk(p)) {
            for (Path x : w.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
