package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.data.BatchSampler;
import moonlight4j.data.TokenDataset;
import moonlight4j.dist.StepSync;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.DecoderLayer;
import moonlight4j.model.Grads;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Norms;
import moonlight4j.optim.Optimizer;

import java.util.Arrays;
import java.util.Map;

/**
 * The training loop of one run, toy_train's order per step (docs/muon.md#training-loop-and-schedule): for each
 * micro-batch forward, loss, backward (gradients summed in a name-keyed map; the loss is the mean over the whole step's
 * targets), then a finite check, optional global-norm clipping, {@code optimizer.step(lr_k)} with grads None for
 * parameters that took no part, the aux-loss-free bias update (docs/model.md#load-balancing), and the gradients dropped
 * (zero_grad(set_to_none)).
 */
public final class Trainer implements AutoCloseable {

    private final Backend be;
    private final MoonlightConfig cfg;
    private final Parameters params;
    private final MoonlightModel model;
    private final TokenDataset train;
    private final TrainOptions opt;
    private final Optimizer optimizer;
    private final BatchSampler sampler;
    private final LoadBalancer balancer;
    private final LrSchedule schedule;
    private int step;
    private final Collective comm;                 // data parallelism; null: one process
    private final StepSync sync;                   // what a step shares with the other ranks (none: one process)

    public Trainer(Backend be, MoonlightConfig cfg, Parameters params, TokenDataset train, TrainOptions opt) {
        this(be, cfg, params, train, opt, null);
    }

    /**
     * Data-parallel rank {@code comm.rank()} of {@code comm.worldSize()} (null: one process): reads its block of each
     * global batch, the optimizer is ZeRO-1 (Distributed Muon / AdamW, which sum the gradients), the loss, the
     * finite check, the gradient norm and the expert loads are global, so every rank logs the same numbers.
     */
    public Trainer(Backend be, MoonlightConfig cfg, Parameters params, TokenDataset train, TrainOptions opt,
                   Collective comm) {
        this.be = be;
        this.comm = comm;
        this.cfg = cfg;
        this.params = params;
        this.model = new MoonlightModel(be, cfg, params);
        this.train = train;
        this.opt = opt;
        if (model.dtype() != DType.F32) {
            throw new IllegalArgumentException("training runs in fp32 like toy_train (docs/muon.md#training-loop-and-schedule); weights are "
                    + model.dtype());
        }
        if (train.seqLen() > cfg.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence length " + train.seqLen() + " exceeds max_position_embeddings "
                    + cfg.maxPositionEmbeddings());
        }
        this.sync = StepSync.of(comm);
        sync.checkStart(opt.batchSize(), cfg.toJson() + " " + opt + " data " + train.name() + " " + train.size() + "×"
                + train.seqLen());
        this.optimizer = sync.optimizer(be, opt.optimizer(), opt.weightDecay());
        // One draw of gradAccum × batchSize rows per step, cut into micro-batches (and each micro-batch into rank
        // blocks): a step's rows depend on (seed, step) only, however they are split, so one process with
        // --batch B/N --grad-accum N reads exactly what N ranks with --batch B read.
        this.sampler = new BatchSampler(train.size(), opt.batchSize() * opt.gradAccum(), opt.seed());
        this.balancer = new LoadBalancer(be, model, opt.biasUpdate());
        this.schedule = opt.schedule();
        model.training(true);
    }

    /**
     * One optimizer step over {@code gradAccum} micro-batches, in a {@link TensorScope}: every tensor the step
     * creates (activations, gradients, temporaries) is freed when it ends; parameters and optimizer state live on.
     */
    public StepReport step() {
        try (TensorScope scope = TensorScope.open()) {
            return stepInScope();
        }
    }

    /**
     * The step as toy_train runs it: for each micro-batch forward → loss → backward (gradients summed; the loss is the
     * mean over the whole step's targets), then the reduction over ranks, the non-finite guard, clip and update, the
     * aux-loss-free bias update, and the guard on the updated weights. Data parallelism enters only through
     * {@link StepSync}.
     */
    private StepReport stepInScope() {
        long t0 = System.nanoTime();
        int seq = train.seqLen();
        double lr = schedule.lr(step);
        long count = (long) opt.gradAccum() * opt.batchSize() * (seq - 1);   // every target of the step
        double lossSum = 0, maxLogit = Double.NEGATIVE_INFINITY;
        long forwardNanos = 0, backwardNanos = 0;
        try (Grads grads = new Grads()) {                                 // the gradients die with the step
            int[] stepRows = sampler.next();                                   // the step's global batch: accum × b rows
            for (int m = 0; m < opt.gradAccum(); m++) {
                int[] rows = sync.myRows(Arrays.copyOfRange(stepRows, m * opt.batchSize(), (m + 1) * opt.batchSize()));
                long[] ids = new long[rows.length * seq];
                for (int r = 0; r < rows.length; r++) System.arraycopy(train.chunk(rows[r]), 0, ids, r * seq, seq);
                long f0 = System.nanoTime();
                Tensor idsT = be.fromLongs(ids, rows.length, seq);
                CausalLmLoss loss = CausalLmLoss.of(be, model.forward(idsT), idsT);                       // forward, loss
                lossSum += loss.sum();
                long b0 = System.nanoTime();
                forwardNanos += b0 - f0;
                balancer.count();
                for (DecoderLayer l : model.layers()) maxLogit = Math.max(maxLogit, l.attention().lastMaxLogit());
                model.backward(loss.backward(1.0 / count), grads);                                      // backward
                backwardNanos += System.nanoTime() - b0;
            }
            StepSync.Reduced red = sync.reduce(lossSum, maxLogit,
                    FiniteGuard.firstNonFinite(be, params.names(), grads.asMap()));
            balancer.sumOverRanks(sync::sumCounts);
            double meanLoss = red.lossSum() / count;
            FiniteGuard.beforeUpdate(step + 1, meanLoss, red.nonFinite());
            long o0 = System.nanoTime();
            StepSync.Update u = sync.update(be, optimizer, params.asMap(), grads.asMap(), lr, opt.clip());   // clip, update
            double optSeconds = (System.nanoTime() - o0) / 1e9;
            double nsSeconds = optimizer instanceof Muon mu ? mu.lastNewtonSchulzSeconds() : 0;
            double nsFlop = optimizer instanceof Muon mu ? mu.lastNewtonSchulzFlop() : 0;
            LoadBalancer.Stats stats = balancer.update();                                               // bias update
            FiniteGuard.afterUpdate(be, step + 1, params);   // every rank holds the same weights: all agree
            step++;
            return new StepReport(step, meanLoss, lr, u.gradNorm(), red.maxLogit(), stats.maxViolation(), stats.load(),
                    u.updateRms(), opt.tokensPerStep(seq), (System.nanoTime() - t0) / 1e9, forwardNanos / 1e9,
                    backwardNanos / 1e9, optSeconds, nsSeconds, nsFlop);
        }
    }

    /** Mean loss over the first {@code maxChunks} chunks of {@code data} (in order, batches of the training size). */
    public double evaluate(TokenDataset data, int maxChunks) {
        model.training(false);
        try (TensorScope scope = TensorScope.open()) {
            int n = Math.min(maxChunks, data.size()), seq = data.seqLen();
            double sum = 0;
            long count = 0;
            for (int start = 0; start < n; start += opt.batchSize()) {
                int rows = Math.min(opt.batchSize(), n - start);
                long[] ids = new long[rows * seq];
                for (int r = 0; r < rows; r++) System.arraycopy(data.chunk(start + r), 0, ids, r * seq, seq);
                try (Tensor idsT = be.fromLongs(ids, rows, seq); Tensor logits = model.forward(idsT)) {
                    CausalLmLoss loss = CausalLmLoss.of(be, logits, idsT);
                    sum += loss.sum();
                    count += loss.count();
                }
            }
            return sum / count;
        } finally {
            model.training(true);
        }
    }

    /** RMS of every matrix parameter, {@code √(Σw²/n)}. */
    public Map<String, Double> weightRms() {
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        for (String n : params.names()) {
            Tensor w = params.get(n);
            if (w.rank() < 2) continue;
            out.put(n, Norms.rms(be, w));
        }
        return out;
    }

    /** Bytes held by the optimizer's state, read from its {@code stateDict()}; {@code matricesOnly}: Muon-managed. */
    public long optimizerStateBytes(boolean muonMatricesOnly) {
        long bytes = 0;
        try (TensorScope scope = TensorScope.open()) {                  // the state dict's copies
            for (Map.Entry<String, Tensor> e : optimizer.stateDict().entrySet()) {
                String key = e.getKey();
                String param = key.substring(0, key.lastIndexOf('.'));
                Tensor t = e.getValue();
                boolean matrix = params.has(param)
                        && moonlight4j.optim.ParamSplit.RELEASE.useMuon(param, params.get(param).shape());
                if (!muonMatricesOnly || matrix) bytes += t.numel() * t.dtype().byteSize();
            }
        }
        return bytes;
    }

    /** How many tensors the optimizer's state holds (its slots; step counters are not tensors it keeps). */
    public int optimizerStateTensors() {
        try (TensorScope scope = TensorScope.open()) {
            return (int) optimizer.stateDict().keySet().stream().filter(k -> !k.endsWith(".step")).count();
        }
    }

    public int stepCount() {
        return step;
    }

    public MoonlightModel model() {
        return model;
    }

    public Parameters parameters() {
        return params;
    }

    public MoonlightConfig config() {
        return cfg;
    }

    public TrainOptions options() {
        return opt;
    }

    Optimizer optimizer() {
        return optimizer;
    }

    /** The data-parallel group, or null for one process. */
    Collective comm() {
        return comm;
    }

    BatchSampler sampler() {
        return sampler;
    }

    /** Restores the counters of a checkpoint (the weights and the optimizer state are loaded separately). */
    void restore(int stepDone, int epoch, int position) {
        this.step = stepDone;
        sampler.seek(epoch, position);
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
