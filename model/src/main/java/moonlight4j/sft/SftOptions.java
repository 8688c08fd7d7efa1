package moonlight4j.sft;

import java.util.List;

/**
 * Settings of a supervised fine-tuning run.
 *
 * @param optimizer   {@code muon} (Muon on hidden matrices, its internal AdamW on the rest, docs/muon.md#parameter-split) or {@code adamw}
 * @param lr          peak learning rate
 * @param weightDecay decoupled weight decay
 * @param epochs      passes over the training conversations
 * @param batchSize   conversations per step (right-padded, {@link moonlight4j.data.SftBatch})
 * @param seed        batch order ({@code seed + epoch}) and LoRA init
 * @param loraRank    0 for full fine-tuning, else the LoRA rank r
 * @param loraAlpha   LoRA alpha (scaling alpha / r)
 * @param loraTargets {@code all-linear} or module names ({@link moonlight4j.lora.LoraTargets})
 * @param biasUpdate  full fine-tuning: the aux-loss-free bias update speed u (docs/model.md#load-balancing; 0 = bias frozen); LoRA keeps
 *                    every base weight, the bias included, frozen
 * @param schedule    {@code cosine}: linear warm-up then cosine decay to 0 over the run (ms-swift's and toy_train's
 *                    default, {@link moonlight4j.train.LrSchedule}); {@code constant}: warm-up then {@code lr}
 * @param warmup      warm-up steps
 * @param clip        global-norm clipping of what the optimizer updates (every weight, or the adapters); 0 = off
 * @param gradAccum   batches per optimizer step (gradient accumulation; the loss is the mean over all their tokens)
 */
public record SftOptions(String optimizer, double lr, double weightDecay, int epochs, int batchSize, long seed,
                         int loraRank, double loraAlpha, String loraTargets, double biasUpdate, String schedule,
                         int warmup, double clip, int gradAccum) {

    public static final List<String> OPTIMIZERS = List.of("muon", "adamw");
    public static final List<String> SCHEDULES = List.of("cosine", "constant");

    public SftOptions {
        if (!OPTIMIZERS.contains(optimizer)) {
            throw new IllegalArgumentException("optimizer must be one of " + OPTIMIZERS + ", got " + optimizer);
        }
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (epochs < 1 || batchSize < 1) throw new IllegalArgumentException("epochs and batch size must be ≥ 1");
        if (loraRank < 0) throw new IllegalArgumentException("LoRA rank must be ≥ 0 (0 = full fine-tuning)");
        if (!SCHEDULES.contains(schedule)) {
            throw new IllegalArgumentException("--lr-schedule must be one of " + SCHEDULES + ", got " + schedule);
        }
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be ≥ 0, got " + warmup);
        if (!(clip >= 0)) throw new IllegalArgumentException("--clip must be ≥ 0 (0 = off), got " + clip);
        if (gradAccum < 1) throw new IllegalArgumentException("--grad-accum must be ≥ 1, got " + gradAccum);
    }

    public boolean lora() {
        return loraRank > 0;
    }

    /** The learning rate of step {@code k} (0-based) of a run of {@code total} steps. */
    public double lrAt(int k, int total) {
        if (schedule.equals("cosine")) return new moonlight4j.train.LrSchedule(lr, warmup, total).lr(k);
        return k < warmup ? lr * k / warmup : lr;
    }
}
