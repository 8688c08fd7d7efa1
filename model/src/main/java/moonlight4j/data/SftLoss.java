package moonlight4j.data;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.MoonlightModel;

import java.util.List;

/**
 * The SFT objective (docs/model.md#loss, as HF computes it from {@code labels}): shift by one — the logits at position
 * t predict {@code labels[t+1]} — and average {@code −log softmax(logits_t)[labels_{t+1}]} over the positions whose
 * label is not −100, i.e. over the assistant tokens only. The arithmetic is {@link CausalLmLoss}'s; this class feeds it
 * {@link SftBatch}es.
 */
public final class SftLoss {

    /** Summed loss and the number of predicted tokens it sums over. */
    public record Sum(double loss, long targets) {
        public double mean() {
            return loss / targets;
        }
    }

    private SftLoss() {
    }

    /** The next-token targets {@code (B·T)}: {@code labels[b, t+1]}, and −100 at {@code t = T−1}. */
    public static long[] shiftedTargets(SftBatch batch) {
        int b = batch.batch(), t = batch.time();
        long[] out = new long[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                out[i * t + j] = j + 1 < t ? batch.labels()[i * t + j + 1] : SftExample.IGNORE;
            }
        }
        return out;
    }

    /** The summed loss of one batch under {@code model} (a forward pass, no gradients; {@link CausalLmLoss}). */
    public static Sum sum(MoonlightModel model, SftBatch batch) {
        Backend be = model.backend();
        int b = batch.batch(), t = batch.time();
        try (Tensor ids = be.fromLongs(batch.inputIds(), b, t);
             Tensor labels = be.fromLongs(batch.labels(), b, t);
             Tensor logits = model.forward(ids)) {                                      // (B, T, V) fp32
            CausalLmLoss loss = CausalLmLoss.of(be, logits, labels);
            return new Sum(loss.sum(), loss.count());
        }
    }

    /**
     * The gradient of the batch's mean loss with respect to the logits {@code (B, T, V)} — what a model backward
     * starts from: {@code (softmax(logits_t) − onehot(labels_{t+1})) / targets} on labelled positions, 0 elsewhere.
     *
     * @param logits {@code (B, T, V)} from the forward of {@code batch.inputIds()}
     */
    public static Tensor logitsGradient(Backend be, Tensor logits, SftBatch batch) {
        if (batch.targets() == 0) throw new IllegalArgumentException("batch has no labelled tokens");
        try (Tensor labels = be.fromLongs(batch.labels(), batch.batch(), batch.time())) {
            return CausalLmLoss.of(be, logits, labels).backward(1.0 / batch.targets());
        }
    }

    /** The mean loss over all predicted tokens of {@code batches} (e.g. the validation set). */
    public static double mean(MoonlightModel model, List<SftBatch> batches) {
        double loss = 0;
        long n = 0;
        for (SftBatch batch : batches) {
            Sum s = sum(model, batch);
            loss += s.loss();
            n += s.targets();
        }
        if (n == 0) throw new IllegalArgumentException("no labelled tokens to average the loss over");
        return loss / n;
    }
}
