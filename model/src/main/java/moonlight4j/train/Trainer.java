package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.data.BatchSampler;
import moonlight4j.data.TokenDataset;
import moonlight4j.dist.DataParallelTraining;
import moonlight4j.dist.Zero1Optimizer;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.DecoderLayer;
import moonlight4j.model.Grads;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.optim.AdamW;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Optimizer;

import java.util.Arrays;
import java.util.Map;

/**
 * The training loop of one run, toy_train's order per step (SPEC §1.7): for each micro-batch forward, loss,
 * backward (gradients summed in a name-keyed map; the loss is the mean over the whole step's targets), then a
 * finite check, optional global-norm clipping, {@code optimizer.step(lr_k)} with grads None for parameters that took
 * no part, the aux-loss-free bias update (SPEC §5), and the gradients dropped (zero_grad(set_to_none)).
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
    private final Collective comm;                 // data parallelism (issue 8); null: one process

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
            throw new IllegalArgumentException("training runs in fp32 like toy_train (SPEC §1.7); weights are "
                    + model.dtype());
        }
        if (train.seqLen() > cfg.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence length " + train.seqLen() + " exceeds max_position_embeddings "
                    + cfg.maxPositionEmbeddings());
        }
        if (comm != null) {
            DataParallelTraining.checkStart(comm, opt.batchSize(), cfg.toJson() + " " + opt + " data " + train.name()
                    + " " + train.size() + "×" + train.seqLen());
        }
        this.optimizer = comm != null ? DataParallelTraining.optimizer(be, opt.optimizer(),
                Muon.Options.defaults().withWeightDecay(opt.weightDecay()),
                new AdamW.Options(opt.weightDecay(), 0.9, 0.95, 1e-8), comm)
                : opt.optimizer().equals("muon")
                ? new Muon(be, Muon.Options.defaults().withWeightDecay(opt.weightDecay()))
                : new AdamW(be, new AdamW.Options(opt.weightDecay(), 0.9, 0.95, 1e-8));
        // One draw of gradAccum × batchSize rows per step, cut into micro-batches (and each micro-batch into rank
        // blocks): a step's rows depend on (seed, step) only, however they are split, so one process with
        // --batch B/N --grad-accum N reads exactly what N ranks with --batch B read.
        this.sampler = new BatchSampler(train.size(), opt.batchSize() * opt.gradAccum(), opt.seed());
        this.balancer = new LoadBalancer(be, model, opt.biasUpdate());
        this.schedule = opt.schedule();
        model.training(true);
    }

    /** One optimizer step over {@code gradAccum} micro-batches. */
    public StepReport step() {
        long t0 = System.nanoTime();
        int seq = train.seqLen(), b = opt.batchSize();
        double lr = schedule.lr(step);
        long count = (long) opt.gradAccum() * b * (seq - 1);        // every target of the step (none ignored)
        double lossSum = 0, maxLogit = Double.NEGATIVE_INFINITY;
        Map<String, Double> updateRms;
        double gradNorm, optSeconds;
        long forwardNanos = 0, backwardNanos = 0;
        try (Grads grads = new Grads()) {
            int[] stepRows = sampler.next();                               // the step's global batch: accum × b rows
            for (int m = 0; m < opt.gradAccum(); m++) {
                int[] rows = Arrays.copyOfRange(stepRows, m * opt.batchSize(), (m + 1) * opt.batchSize());
                if (comm != null) rows = DataParallelTraining.myRows(comm, rows);   // this rank's block
                b = rows.length;
                long[] ids = new long[b * seq];
                for (int r = 0; r < b; r++) System.arraycopy(train.chunk(rows[r]), 0, ids, r * seq, seq);
                long f0 = System.nanoTime();
                try (Tensor idsT = be.fromLongs(ids, b, seq); Tensor logits = model.forward(idsT)) {
                    CausalLmLoss loss = CausalLmLoss.of(be, logits, idsT);
                    lossSum += loss.sum();
                    long b0 = System.nanoTime();
                    forwardNanos += b0 - f0;                               // forward pass and loss
                    balancer.count();
                    for (DecoderLayer l : model.layers()) maxLogit = Math.max(maxLogit, l.attention().lastMaxLogit());
                    try (Tensor dLogits = loss.backward(1.0 / count)) {
                        model.backward(dLogits, grads);
                    }
                    backwardNanos += System.nanoTime() - b0;               // loss gradient and backward pass
                }
            }
            String nonFinite = firstNonFinite(be, params, grads);
            if (comm != null) {
                DataParallelTraining.Reduced red = DataParallelTraining.reduceStep(comm, lossSum, maxLogit, nonFinite);
                lossSum = red.lossSum();
                maxLogit = red.maxLogit();
                nonFinite = red.nonFinite();
                balancer.sumOverRanks(c -> DataParallelTraining.sumCounts(comm, c));
            }
            double meanLoss = lossSum / count;
            checkFinite(step + 1, meanLoss, nonFinite);
            if (optimizer instanceof Zero1Optimizer z) z.setClip(opt.clip());   // clips the summed gradient
            gradNorm = comm != null ? Double.NaN : GradClip.clip(be, grads.asMap(), opt.clip());
            long o0 = System.nanoTime();
            updateRms = optimizer.step(params.asMap(), grads.asMap(), lr);
            optSeconds = (System.nanoTime() - o0) / 1e9;
            double nsSeconds = optimizer instanceof Muon mu ? mu.lastNewtonSchulzSeconds() : 0;
            double nsFlop = optimizer instanceof Muon mu ? mu.lastNewtonSchulzFlop() : 0;
            if (optimizer instanceof Zero1Optimizer z) gradNorm = z.lastGradNorm();
            LoadBalancer.Stats stats = balancer.update();
            step++;
            return new StepReport(step, meanLoss, lr, gradNorm, maxLogit, stats.maxViolation(), stats.load(), updateRms,
                    opt.tokensPerStep(seq), (System.nanoTime() - t0) / 1e9, forwardNanos / 1e9, backwardNanos / 1e9,
                    optSeconds, nsSeconds, nsFlop);
        }
    }

    /**
     * SPEC-free safety stop: a NaN/Inf loss, or the first parameter (in checkpoint order) whose gradient holds a
     * NaN/Inf, ends training with an error naming the step and that parameter.
     */
    static void checkFinite(int step, double loss, String nonFiniteParam) {
        if (!Double.isFinite(loss)) throw new NonFiniteException(step, "loss " + loss);
        if (nonFiniteParam != null) throw new NonFiniteException(step, "gradient of " + nonFiniteParam);
    }

    /** The first parameter (in checkpoint order) whose gradient holds a NaN/Inf, or null. */
    static String firstNonFinite(Backend be, Parameters params, Grads grads) {
        for (String name : params.names()) {
            Tensor g = grads.get(name);
            if (g != null && !be.allFinite(g)) return name;
        }
        return null;
    }

    /** Mean loss over the first {@code maxChunks} chunks of {@code data} (in order, batches of the training size). */
    public double evaluate(TokenDataset data, int maxChunks) {
        model.training(false);
        try {
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
            try (Tensor ss = be.sumSquares(w)) {
                out.put(n, Math.sqrt(be.item(ss) / w.numel()));
            }
        }
        return out;
    }

    /** Bytes held by the optimizer's state, read from its {@code stateDict()}; {@code matricesOnly}: Muon-managed. */
    public long optimizerStateBytes(boolean muonMatricesOnly) {
        long bytes = 0;
        Map<String, Tensor> sd = optimizer.stateDict();
        for (Map.Entry<String, Tensor> e : sd.entrySet()) {
            String key = e.getKey();
            String param = key.substring(0, key.lastIndexOf('.'));
            Tensor t = e.getValue();
            boolean matrix = params.has(param)
                    && moonlight4j.optim.ParamSplit.RELEASE.useMuon(param, params.get(param).shape());
            if (!muonMatricesOnly || matrix) bytes += t.numel() * t.dtype().byteSize();
        }
        return bytes;
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
