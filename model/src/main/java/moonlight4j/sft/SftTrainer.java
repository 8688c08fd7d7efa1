package moonlight4j.sft;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.data.SftBatch;
import moonlight4j.data.SftDataset;
import moonlight4j.dist.DataParallel;
import moonlight4j.dist.StepSync;
import moonlight4j.data.SftLoss;
import moonlight4j.lora.LoraAdapters;
import moonlight4j.lora.LoraConfig;
import moonlight4j.lora.LoraStep;
import moonlight4j.lora.LoraTargets;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.Grads;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.optim.Optimizer;
import moonlight4j.train.FiniteGuard;
import moonlight4j.train.LoadBalancer;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Supervised fine-tuning on chat conversations ({@link SftDataset}): per step
 * <pre>
 *   logits = model(input_ids)                      forward, recording for backward
 *   L = mean over assistant tokens of −log p(label_{t+1})     (CausalLmLoss, labels −100 elsewhere)
 *   grads = backward(dL/dlogits)                   every layer's hand-written backward, router included
 *   full:  clip(grads); optimizer.step(all weights, grads, lr_k)   (Muon: hidden matrices incl. the router)
 *   LoRA:  dA, dB from the targeted dW; clip; optimizer.step(adapters, lr_k); W_eff = W + s·B·A   (LoraStep)
 * </pre>
 * with {@code lr_k} from the options' schedule (cosine with warm-up by default) over the whole run, and the
 * non-finite guard of training ({@link FiniteGuard}) before and after each update.
 * The MoE's {@code e_score_correction_bias} gets no gradient (grad None); in full fine-tuning it follows the
 * aux-loss-free rule ({@link LoadBalancer}, docs/model.md#load-balancing) after each step — counting every routed token
 * of the batch, padding included — and in LoRA runs it stays frozen with the rest of the base model.
 */
public final class SftTrainer implements AutoCloseable {

    /**
     * One step's record: epoch, step (1-based), training loss of the batch, assistant tokens, learning rate, gradient
     * norm before clipping, tokens processed (padding included) and seconds.
     */
    public record Step(int epoch, int step, double loss, long targets, double lr, double gradNorm, long tokens,
                       double seconds) {
    }

    private final Backend be;
    private final SftOptions opt;
    private final Parameters base;       // full FT: trained in place; LoRA: frozen
    private final Parameters weights;    // what the model runs on (base, or the effective LoRA weights)
    private final LoraAdapters lora;     // null for full fine-tuning
    private final MoonlightModel model;
    private final Optimizer optimizer;
    private final LoadBalancer balancer;  // null for LoRA
    private final MoonlightConfig cfg;
    private int steps;
    private int epoch, batchInEpoch;      // the data position: the next batch is batch batchInEpoch of epoch
    private long tokensSeen;              // tokens processed so far (padding included), for the curves
    private final Collective comm;        // data parallelism; null: one process
    private final StepSync sync;          // what a step shares with the other ranks (none: one process)
    private final java.util.Map<String, Tensor> optimized;
    private boolean ranksChecked;
    private String frozenBaseFingerprint;  // LoRA: the frozen base's hash, computed once

    public SftTrainer(Backend be, MoonlightConfig cfg, Parameters base, SftOptions opt) {
        this(be, cfg, base, opt, null);
    }

    /**
     * Data-parallel rank {@code comm.rank()} of {@code comm.worldSize()} (null: one process): it reads its slice of
     * every global batch ({@link SftDataset#trainBatches(int, long, int, int, int)}), each slice back-propagates its
     * token-loss sum over the GLOBAL count of assistant tokens, the optimizer is ZeRO-1 (Distributed Muon / AdamW,
     * which sum the gradients and clip their global norm), and the loss and the expert loads are summed over ranks.
     * N ranks with batch B then compute what one process with batch B/N and N accumulated batches does.
     */
    public SftTrainer(Backend be, MoonlightConfig cfg, Parameters base, SftOptions opt, Collective comm) {
        this.be = be;
        this.comm = comm;
        this.opt = opt;
        this.base = base;
        this.cfg = cfg;
        if (opt.lora()) {
            List<String> modules = LoraTargets.modules(opt.loraTargets(), cfg);
            this.lora = LoraAdapters.init(new LoraConfig(opt.loraRank(), opt.loraAlpha(), modules, false, null), cfg,
                    be, DType.F32, opt.seed());
            this.weights = LoraStep.effectiveWeights(be, lora, base);
        } else {
            this.lora = null;
            this.weights = base;
        }
        this.model = new MoonlightModel(be, cfg, weights);
        this.balancer = opt.lora() ? null : new LoadBalancer(be, model, opt.biasUpdate());
        this.sync = StepSync.of(comm);
        this.optimizer = sync.optimizer(be, opt.optimizer(), opt.weightDecay());
        // what the optimizer updates in full fine-tuning: every weight but the router biases, which never have a
        // gradient (docs/model.md#load-balancing: the LoadBalancer moves them) and stay fp32 in a bf16 model, where ZeRO-1's one flat
        // buffer of one dtype could not hold them
        this.optimized = new java.util.LinkedHashMap<>();
        for (String n : base.names()) if (!n.endsWith(".e_score_correction_bias")) optimized.put(n, base.get(n));
    }

    /** One optimizer step on {@code batch} at learning rate {@code lr}; the loss is the batch's before the update. */
    public Step step(SftBatch batch, double lr, int epoch) {
        return step(List.of(batch), lr, epoch);
    }

    /**
     * One optimizer step over the micro-batches {@code group} (gradient accumulation): each back-propagates its
     * token-loss sum divided by the assistant tokens of the whole group, so the summed gradient is that of the
     * group's mean loss, as one batch of all its conversations would give (up to fp32 summation order).
     */
    public Step step(List<SftBatch> group, double lr, int epoch) {
        try (TensorScope scope = TensorScope.open()) {          // the step's tensors are freed when it ends
            return stepInScope(group, lr, epoch);
        }
    }

    private Step stepInScope(List<SftBatch> group, double lr, int epoch) {
        long t0 = System.nanoTime();
        long targets = 0, tokens = 0;
        for (SftBatch b : group) {
            targets += b.targets();
            tokens += (long) b.batch() * b.time();
        }
        targets = sync.globalCount(targets);                                 // the divisor of the global mean
        tokens = sync.globalCount(tokens);
        model.training(true);
        double lossSum = 0, norm;
        try (Grads grads = new Grads()) {                                   // the gradients die with the step
            for (SftBatch batch : group) {
                int b = batch.batch(), t = batch.time();
                if (b == 0) continue;                                        // an empty slice (more ranks than rows)
                Tensor ids = be.fromLongs(batch.inputIds(), b, t), labels = be.fromLongs(batch.labels(), b, t);
                CausalLmLoss l = CausalLmLoss.of(be, model.forward(ids), labels);           // logits (B, T, V)
                if (balancer != null) balancer.count();                      // this forward's routing
                lossSum += l.sum();
                model.backward(l.backward(1.0 / Math.max(1, targets)), grads);
            }
            StepSync.Reduced red = sync.reduce(lossSum, Double.NEGATIVE_INFINITY,
                    FiniteGuard.firstNonFinite(be, base.names(), grads.asMap()));
            lossSum = red.lossSum();
            if (balancer != null) balancer.sumOverRanks(sync::sumCounts);
            FiniteGuard.beforeUpdate(steps + 1, targets > 0 ? lossSum / targets : 0, red.nonFinite());
            if (lora == null) {
                norm = sync.update(be, optimizer, optimized, grads.asMap(), lr, opt.clip()).gradNorm();
                balancer.update();                                   // docs/model.md#load-balancing, after the step
            } else {
                norm = sync.update(be, optimizer, new java.util.LinkedHashMap<>(lora.parameters().asMap()),
                        LoraStep.adapterGradients(be, lora, grads.asMap()), lr, opt.clip()).gradNorm();
                LoraStep.refresh(be, lora, base, weights);
                FiniteGuard.afterUpdate(be, steps + 1, lora.parameters());
            }
            FiniteGuard.afterUpdate(be, steps + 1, weights);       // every rank holds the same weights: all agree
        } finally {
            model.training(false);
        }
        steps++;
        tokensSeen += tokens;
        return new Step(epoch, steps, targets > 0 ? lossSum / targets : Double.NaN, targets, lr, norm, tokens,
                (System.nanoTime() - t0) / 1e9);
    }

    /** Optimizer steps of a run over {@code data}: every epoch's batches, {@code gradAccum} to a step. */
    public int totalSteps(SftDataset data) {
        int batches = (data.train().size() + opt.batchSize() - 1) / opt.batchSize();
        return (batches + opt.gradAccum() - 1) / opt.gradAccum() * opt.epochs();
    }

    /** Runs every epoch over the training set with the options' schedule, reporting each step. */
    public void train(SftDataset data, Consumer<Step> onStep) {
        train(data, onStep, null);
    }

    /**
     * {@link #train(SftDataset, Consumer)}, also reporting the end of every epoch (its 0-based index). Starts at the
     * trainer's data position (the beginning, or where a checkpoint left off: {@link SftCheckpoint}).
     */
    public void train(SftDataset data, Consumer<Step> onStep, IntConsumer onEpochEnd) {
        int total = totalSteps(data);
        if (comm != null && !ranksChecked) {                                 // same options, model and data everywhere
            DataParallel.checkSameConfig(comm, opt + " " + cfg.toJson() + " " + SftCheckpoint.hash(data) + " "
                    + baseFingerprint());
            ranksChecked = true;
        }
        for (; epoch < opt.epochs(); epoch++, batchInEpoch = 0) {
            List<SftBatch> batches = comm == null ? data.trainBatches(opt.batchSize(), opt.seed(), epoch)
                    : data.trainBatches(opt.batchSize(), opt.seed(), epoch, comm.rank(), comm.worldSize());
            while (batchInEpoch < batches.size()) {
                List<SftBatch> group = batches.subList(batchInEpoch, Math.min(batches.size(),
                        batchInEpoch + opt.gradAccum()));
                Step s = step(group, opt.lrAt(steps, total), epoch);
                batchInEpoch += group.size();
                if (onStep != null) onStep.accept(s);
            }
            if (onEpochEnd != null) onEpochEnd.accept(epoch);
        }
    }

    /** Mean loss over the assistant tokens of {@code batches} under the current weights. */
    public double loss(List<SftBatch> batches) {
        try (TensorScope scope = TensorScope.open()) {
            return SftLoss.mean(model, batches);
        }
    }

    public MoonlightModel model() {
        return model;
    }

    /** The adapters (LoRA runs), else null. */
    public LoraAdapters adapters() {
        return lora;
    }

    /** The weights the model runs on: the trained weights, or base + LoRA merged. */
    public Parameters weights() {
        return weights;
    }

    public int steps() {
        return steps;
    }

    /** The data position: the epoch of the next batch and its index within the epoch's batches. */
    public int epoch() {
        return epoch;
    }

    public int batchInEpoch() {
        return batchInEpoch;
    }

    /** Tokens processed by all steps so far, padding included (carried across a resume). */
    public long tokensSeen() {
        return tokensSeen;
    }

    public SftOptions options() {
        return opt;
    }

    public MoonlightConfig config() {
        return cfg;
    }

    /** The weights being trained: the base model (full fine-tuning) or the adapters' A and B (LoRA). */
    public Parameters trained() {
        return lora == null ? base : lora.parameters();
    }

    Optimizer optimizer() {
        return optimizer;
    }

    /** The data-parallel group, or null for one process. */
    public Collective comm() {
        return comm;
    }

    /**
     * A SHA-256 of the base weights (names, shapes, values): what a LoRA checkpoint must be resumed on. LoRA keeps the
     * base frozen, so it is computed once there (every checkpoint asks); full fine-tuning asks once, at the start.
     */
    String baseFingerprint() {
        if (lora != null && frozenBaseFingerprint != null) return frozenBaseFingerprint;
        String f = fingerprint();
        if (lora != null) frozenBaseFingerprint = f;
        return f;
    }

    private String fingerprint() {
        java.security.MessageDigest d = SftCheckpoint.sha256();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8);
        for (String n : base.names()) {
            Tensor w = base.get(n);
            d.update(n.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            for (int dim : w.shape()) d.update(b.clear().putInt(dim).flip());
            float[] v = be.toFloats(w);
            java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * v.length);
            bytes.asFloatBuffer().put(v);
            d.update(bytes);
        }
        return java.util.HexFormat.of().formatHex(d.digest());
    }

    /**
     * Continues from a checkpoint: the step count and data position (the trained weights and the optimizer state are
     * loaded by {@link SftCheckpoint}); LoRA re-derives the effective weights from the loaded adapters.
     */
    void restore(int stepsDone, int epochOfNext, int batchOfNext, long tokens) {
        this.steps = stepsDone;
        this.tokensSeen = tokens;
        this.epoch = epochOfNext;
        this.batchInEpoch = batchOfNext;
        if (lora != null) LoraStep.refresh(be, lora, base, weights);
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
