package moonlight4j.sft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.data.SftDataset;
import moonlight4j.data.SftExample;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.model.Parameters;
import moonlight4j.dist.SavedOptimizerState;
import moonlight4j.train.TrainCheckpoint;
import moonlight4j.train.TrainerStateJson;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Checkpoints of a fine-tuning run, in the layout and with the all-or-nothing write of {@link TrainCheckpoint}:
 * <pre>
 *   step-000100/trained.safetensors    the weights being trained: the whole model (full) or the adapters' A, B (LoRA)
 *   step-000100/optimizer.safetensors  the optimizer's stateDict
 *   step-000100/trainer_state.json     step, data position (epoch, batch), and the options that must match
 *   latest                             the newest complete checkpoint
 * </pre>
 * An epoch's batch order is a function of (seed, epoch), so (epoch, batch index) is the whole data state, and a
 * resumed run repeats the uninterrupted one bit for bit.
 */
public final class SftCheckpoint {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TRAINED = "trained.safetensors";
    private static final String OPTIMIZER = "optimizer.safetensors";
    static final String KIND = "sft";

    private SftCheckpoint() {
    }

    /** Writes a checkpoint of {@code t} (fine-tuning {@code dataset}) into {@code checkpoints}; returns it. */
    public static Path save(SftTrainer t, Path checkpoints, SftDataset dataset) throws IOException {
        refuseDist(t);
        return TrainCheckpoint.saveAtomically(checkpoints, String.format("step-%06d", t.steps()), tmp -> {
            Safetensors.write(tmp.resolve(TRAINED), t.trained().asMap(), Map.of("format", "pt"));
            TrainCheckpoint.writeOptimizer(t.optimizer(), t.options().optimizer(), tmp.resolve(OPTIMIZER));
            ObjectNode s = identity(t, dataset);
            s.put("step", t.steps()).put("epoch", t.epoch()).put("batch", t.batchInEpoch())
                    .put("tokens", t.tokensSeen());
            TrainerStateJson.writeDurably(tmp.resolve(TrainerStateJson.FILE), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(s) + "\n");
        });
    }

    private static void refuseDist(SftTrainer t) {
        if (t.comm() != null) {
            throw new IllegalArgumentException("fine-tuning checkpoints (--save-every, --resume) are written by one process;"
                    + " under --dist the ZeRO-1 optimizer state is sharded and they are not supported yet");
        }
    }

    /**
     * What must be the same for a checkpoint to continue this run: the options that shape the updates, the training
     * conversations themselves (a hash of their token ids and labels, so a changed file, validation split, length
     * cut or skipped line is caught), the model config, and for LoRA the frozen base weights (a hash).
     */
    private static ObjectNode identity(SftTrainer t, SftDataset data) {
        SftOptions o = t.options();
        ObjectNode s = JSON.createObjectNode();
        s.put("kind", KIND).put("train_conversations", data.train().size()).put("train_sha256", hash(data))
                .put("optimizer", o.optimizer()).put("batch_size", o.batchSize()).put("grad_accum", o.gradAccum())
                .put("seed", o.seed()).put("epochs", o.epochs()).put("lr", o.lr()).put("lr_schedule", o.schedule())
                .put("warmup", o.warmup()).put("weight_decay", o.weightDecay()).put("clip", o.clip())
                .put("bias_update", o.biasUpdate()).put("lora_rank", o.loraRank()).put("lora_alpha", o.loraAlpha())
                .put("lora_targets", String.valueOf(o.loraTargets()));
        ObjectNode model = t.config().toJson();
        model.remove("torch_dtype");
        s.set("model", model);
        if (o.lora()) s.put("base_sha256", t.baseFingerprint());
        return s;
    }

    /**
     * The (step, epoch, batch) of trainer_state.json, each a non-negative integer and consistent with each other for
     * this run: an epoch has ⌈n/B⌉ batches and ⌈⌈n/B⌉/accum⌉ steps; after g steps of epoch e the batch index is
     * min(g·accum, ⌈n/B⌉).
     */
    private static int[] position(TrainerStateJson s, SftTrainer t, SftDataset data) {
        SftOptions o = t.options();
        int step = s.count("step"), epoch = s.count("epoch"), batch = s.count("batch");
        int batches = (data.train().size() + o.batchSize() - 1) / o.batchSize();
        int perEpoch = t.totalSteps(data) / o.epochs();
        long inEpoch = step - (long) epoch * perEpoch;
        if (epoch >= o.epochs() || inEpoch < 0 || inEpoch > perEpoch
                || batch != Math.min(inEpoch * o.gradAccum(), batches)) {
            throw s.error("batch", batch + " (epoch " + epoch + ") does not match step " + step + ": this run has "
                    + o.epochs() + " epoch(s) of " + batches + " batches, " + o.gradAccum() + " a step");
        }
        return new int[]{step, epoch, batch};
    }

    /** A SHA-256 of the training conversations' token ids and labels, in file order. */
    static String hash(SftDataset data) {
        MessageDigest d = sha256();
        ByteBuffer b = ByteBuffer.allocate(8);
        for (SftExample e : data.train()) {
            for (int[] v : new int[][]{e.inputIds(), e.labels()}) {
                d.update(b.clear().putInt(v.length).flip());
                for (int x : v) d.update(b.clear().putInt(x).flip());
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /**
     * Loads {@code dir} (a checkpoint, or a directory whose {@code latest} names one) into {@code t}: the trained
     * weights in place, the optimizer state, the step and data position. Refused, naming every difference, when the
     * checkpoint comes from a run with other options, data or model.
     */
    public static Path restore(Path dir, SftTrainer t, Backend be, SftDataset dataset) throws IOException {
        refuseDist(t);
        Path ck = TrainCheckpoint.resolve(dir);
        TrainerStateJson state = TrainerStateJson.read(ck);
        JsonNode saved = state.tree();
        if (!KIND.equals(saved.path("kind").asText())) {
            throw new IllegalArgumentException("--resume " + ck + " is not a fine-tuning checkpoint (it was written by "
                    + "`train` on text; resume it with `train --resume`, or fine-tune from its model with --init)");
        }
        List<String> diffs = new ArrayList<>();
        JsonNode ours = JSON.readTree(JSON.writeValueAsString(identity(t, dataset)));   // the saved number types
        ours.fields().forEachRemaining(e -> {
            if (!e.getValue().equals(saved.get(e.getKey()))) {
                diffs.add(e.getKey() + ": checkpoint " + saved.get(e.getKey()) + ", this run " + e.getValue());
            }
        });
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("--resume " + ck + " comes from a different fine-tuning run: "
                    + String.join("; ", diffs));
        }
        int[] at = position(state, t, dataset);
        Parameters trained = t.trained();
        try (SafetensorsFile f = Safetensors.open(ck.resolve(TRAINED))) {
            List<String> missing = trained.names().stream().filter(n -> !f.has(n)).toList();
            if (!missing.isEmpty() || f.names().size() != trained.names().size()) {
                throw new IllegalArgumentException(ck.resolve(TRAINED) + ": expected the " + trained.names().size()
                        + " trained tensors of this run, found " + f.names().size() + (missing.isEmpty() ? ""
                        : "; missing e.g. " + missing.get(0)));
            }
            for (String n : trained.names()) {                        // all checked before any is replaced
                try (Tensor src = f.load(be, n)) {
                    if (!be.allFinite(src)) {
                        throw new IllegalArgumentException(ck.resolve(TRAINED) + ": weight " + n + " holds NaN/Inf; a "
                                + "checkpoint's weights must be finite (resume from an earlier checkpoint)");
                    }
                }
            }
            for (String n : trained.names()) {
                try (Tensor src = f.load(be, n)) {
                    be.copyInto(trained.get(n), src);
                }
            }
        }
        Map<String, Tensor> opt = Map.of();
        try (SafetensorsFile f = Safetensors.open(ck.resolve(OPTIMIZER))) {
            SavedOptimizerState kept = new SavedOptimizerState(trained.asMap(), List.of(f));
            TrainCheckpoint.checkOptimizerState(kept, t.options().optimizer());
            opt = kept.unsharded(be);
            t.optimizer().loadStateDict(opt);
        } finally {
            opt.values().forEach(Tensor::close);
        }
        t.restore(at[0], at[1], at[2], state.integer("tokens", 0, Long.MAX_VALUE));
        return ck;
    }
}
