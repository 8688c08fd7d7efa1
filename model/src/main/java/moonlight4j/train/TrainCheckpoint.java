package moonlight4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Training checkpoints under {@code <run>/checkpoints/}:
 * <pre>
 *   step-000100/model/               HF layout (config.json + model.safetensors), usable with --init and inspect
 *   step-000100/optimizer.safetensors  the optimizer's stateDict (moments, momentum buffers, step counts)
 *   step-000100/trainer_state.json     step, data position (epoch, position), seed, options that must match
 *   latest                             the name of the newest complete checkpoint
 * </pre>
 * A checkpoint is written into a hidden temporary directory, renamed to {@code step-N} when complete, then
 * {@code latest} is replaced atomically, and only then the previous checkpoint is deleted: a crash at any point
 * leaves the last good checkpoint loadable. The random state is the data order's (seed, epoch, position): the
 * permutation of an epoch is a function of (seed, epoch), so nothing else needs saving.
 */
public final class TrainCheckpoint {

    static final ObjectMapper JSON = new ObjectMapper();
    public static final String LATEST = "latest";

    /** Called between the parts of a save, for tests that simulate a crash midway. */
    public interface SaveHook {
        void afterPart(String part) throws IOException;

        SaveHook NONE = p -> {
        };
    }

    private TrainCheckpoint() {
    }

    /** Writes a checkpoint of {@code t} into {@code checkpoints}; returns its directory. */
    public static Path save(Trainer t, Path checkpoints, String datasetName, SaveHook hook) throws IOException {
        Files.createDirectories(checkpoints);
        String name = String.format("step-%06d", t.stepCount());
        Path tmp = Files.createTempDirectory(checkpoints, "." + name + ".");
        try {
            MoonlightCheckpoint.save(tmp.resolve("model"), t.config(), t.parameters());
            hook.afterPart("model");
            Map<String, Tensor> state = t.optimizer().stateDict();
            Safetensors.write(tmp.resolve("optimizer.safetensors"), state, Map.of("optimizer", t.options().optimizer()));
            hook.afterPart("optimizer");
            ObjectNode s = JSON.createObjectNode();
            s.put("step", t.stepCount()).put("epoch", t.sampler().epoch()).put("position", t.sampler().position())
                    .put("seed", t.options().seed()).put("optimizer", t.options().optimizer())
                    .put("batch_size", t.options().batchSize()).put("grad_accum", t.options().gradAccum())
                    .put("dataset", datasetName);
            Files.writeString(tmp.resolve("trainer_state.json"), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(s) + "\n", StandardCharsets.UTF_8);
            hook.afterPart("trainer_state");
            Path target = checkpoints.resolve(name);
            deleteTree(target);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            String previous = latestName(checkpoints);
            Path pointerTmp = Files.createTempFile(checkpoints, ".latest.", ".tmp");
            Files.writeString(pointerTmp, name + "\n", StandardCharsets.UTF_8);
            Files.move(pointerTmp, checkpoints.resolve(LATEST), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            if (previous != null && !previous.equals(name)) deleteTree(checkpoints.resolve(previous));
            return target;
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
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

    /** Reads trainer_state.json. */
    public static JsonNode state(Path checkpoint) throws IOException {
        return JSON.readTree(checkpoint.resolve("trainer_state.json").toFile());
    }

    /**
     * Checks that {@code checkpoint} was written by a run with the same config, optimizer and batch layout as
     * {@code t} (an error listing every difference, before any work starts).
     */
    public static void checkCompatible(Path checkpoint, Trainer t, String datasetName) throws IOException {
        JsonNode s = state(checkpoint);
        JsonNode savedCfg = JSON.readTree(modelDir(checkpoint).resolve("config.json").toFile());
        java.util.List<String> diffs = new java.util.ArrayList<>();
        ObjectNode ours = t.config().toJson();
        for (java.util.Iterator<String> it = ours.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (f.equals("torch_dtype")) continue;
            if (!ours.get(f).equals(savedCfg.get(f))) diffs.add("config " + f + ": checkpoint " + savedCfg.get(f) + ", this run " + ours.get(f));
        }
        if (!s.path("optimizer").asText().equals(t.options().optimizer())) {
            diffs.add("optimizer: checkpoint " + s.path("optimizer").asText() + ", this run " + t.options().optimizer());
        }
        if (s.path("batch_size").asInt() != t.options().batchSize()) {
            diffs.add("batch size: checkpoint " + s.path("batch_size").asInt() + ", this run " + t.options().batchSize());
        }
        if (s.path("seed").asLong() != t.options().seed()) {
            diffs.add("seed: checkpoint " + s.path("seed").asLong() + ", this run " + t.options().seed());
        }
        if (!s.path("dataset").asText().equals(datasetName)) {
            diffs.add("dataset: checkpoint " + s.path("dataset").asText() + ", this run " + datasetName);
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("--resume " + checkpoint + " comes from a different run: "
                    + String.join("; ", diffs));
        }
    }

    /** Loads weights (into the trainer's parameter tensors, in place), optimizer state and counters. */
    public static void restore(Path checkpoint, Trainer t, Backend be) throws IOException {
        JsonNode s = state(checkpoint);
        MoonlightCheckpoint.Loaded l = MoonlightCheckpoint.load(modelDir(checkpoint), be);
        Parameters p = t.parameters();
        for (String n : p.names()) {
            Tensor src = l.parameters().get(n);
            be.copyInto(p.get(n), src);
            src.close();
        }
        Map<String, Tensor> state = new LinkedHashMap<>();
        try (SafetensorsFile f = Safetensors.open(checkpoint.resolve("optimizer.safetensors"))) {
            for (String n : f.names()) state.put(n, f.load(be, n));
        }
        t.optimizer().loadStateDict(state);
        t.restore(s.path("step").asInt(), s.path("epoch").asInt(), s.path("position").asInt());
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> w = Files.walk(p)) {
            for (Path x : w.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
