package moonlight4j.train;

import java.util.List;

/**
 * Hyper-parameters of a run. {@code optimizer}: {@code muon} (the release Muon: match_rms_adamw, AdamW backup for
 * non-matrices, docs/muon.md#one-step) or {@code adamw} (toy_train's baseline, betas (0.9, 0.95), eps 1e-8,
 * docs/muon.md#adamw-baseline).
 *
 * @param lr         peak learning rate of the warm-up + cosine schedule ({@link LrSchedule})
 * @param clip       global-norm gradient clipping threshold, 0 = off
 * @param biasUpdate u of the aux-loss-free bias update (docs/model.md#load-balancing), 0 = off
 * @param gradAccum  micro-batches per optimizer step (the loss is the mean over all of their targets)
 * @param seed       seeds the data order (model init is seeded separately by the caller)
 * @param saveEvery  checkpoint every N steps, 0 = never
 */
public record TrainOptions(String optimizer, double lr, double weightDecay, int steps, int batchSize, int gradAccum,
                           int warmup, double clip, double biasUpdate, long seed, int saveEvery) {

    public static final List<String> OPTIMIZERS = List.of("muon", "adamw");

    public TrainOptions {
        if (!OPTIMIZERS.contains(optimizer)) {
            throw new IllegalArgumentException("--optimizer '" + optimizer + "': expected one of " + OPTIMIZERS);
        }
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("--wd must be ≥ 0, got " + weightDecay);
        if (batchSize < 1) throw new IllegalArgumentException("--batch must be ≥ 1, got " + batchSize);
        if (gradAccum < 1) throw new IllegalArgumentException("--grad-accum must be ≥ 1, got " + gradAccum);
        if (!(clip >= 0)) throw new IllegalArgumentException("--clip must be ≥ 0 (0 = off), got " + clip);
        if (saveEvery < 0) throw new IllegalArgumentException("--save-every must be ≥ 0, got " + saveEvery);
        new LrSchedule(lr, warmup, steps);   // validates lr, warmup, steps
        if (!(biasUpdate >= 0)) throw new IllegalArgumentException("--bias-update must be ≥ 0, got " + biasUpdate);
    }

    public LrSchedule schedule() {
        return new LrSchedule(lr, warmup, steps);
    }

    public TrainOptions withOptimizer(String o, double newLr, double wd) {
        return new TrainOptions(o, newLr, wd, steps, batchSize, gradAccum, warmup, clip, biasUpdate, seed, saveEvery);
    }

    public TrainOptions withSteps(int s) {
        return new TrainOptions(optimizer, lr, weightDecay, s, batchSize, gradAccum, warmup, clip, biasUpdate, seed,
                saveEvery);
    }

    public TrainOptions withSaveEvery(int n) {
        return new TrainOptions(optimizer, lr, weightDecay, steps, batchSize, gradAccum, warmup, clip, biasUpdate, seed,
                n);
    }

    /** Tokens consumed by one optimizer step. */
    public long tokensPerStep(int seqLen) {
        return (long) batchSize * gradAccum * seqLen;
    }
}
