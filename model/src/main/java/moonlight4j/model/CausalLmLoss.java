package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * The causal-LM loss of HF {@code DeepseekV3ForCausalLM} (docs/model.md#loss): logits at position t predict label t+1,
 * {@code L = (1/N) Σ_{t: label ≠ −100} −log softmax(logits_t)[label_{t+1}]}, the mean over the N non-ignored
 * targets (fp32 log-softmax). The last position of each row has no target. The sum comes from
 * {@link Backend#crossEntropySum}, so gradient accumulation and data parallelism can divide by a global count.
 */
public final class CausalLmLoss {

    /** {@code ignore_index} of {@code CrossEntropyLoss}. */
    public static final long IGNORE_INDEX = -100;

    private final Backend be;
    private final Tensor logits2;   // (B·T, V)
    private final Tensor targets;   // (B·T) I64, −100 where ignored
    private final int[] logitsShape;
    private final long count;
    private final double sum;

    private CausalLmLoss(Backend be, Tensor logits, Tensor labels) {
        this.be = be;
        int[] s = logits.shape();
        if (s.length != 3) throw new IllegalArgumentException("loss: logits must be (B, T, V), got " + java.util.Arrays.toString(s));
        int b = s[0], t = s[1], v = s[2];
        if (labels.rank() != 2 || labels.dim(0) != b || labels.dim(1) != t) {
            throw new IllegalArgumentException("loss: labels must be (" + b + ", " + t + "), got "
                    + java.util.Arrays.toString(labels.shape()));
        }
        long[] lab = be.toLongs(labels);
        long[] tg = new long[b * t];
        long n = 0;
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) {
                long y = i + 1 < t ? lab[r * t + i + 1] : IGNORE_INDEX;                 // shift: labels[:, 1:]
                tg[r * t + i] = y;
                if (y != IGNORE_INDEX) n++;
            }
        }
        this.logitsShape = s;
        this.logits2 = be.reshape(logits, b * t, v);                                   // (B·T, V)
        this.targets = be.fromLongs(tg, b * t);                                         // (B·T)
        this.count = n;
        try (Tensor sumT = be.crossEntropySum(logits2, targets, IGNORE_INDEX)) {
            this.sum = be.item(sumT);
        }
    }

    /** Computes the loss of {@code logits (B, T, V)} against {@code labels (B, T)} (unshifted, as HF takes them). */
    public static CausalLmLoss of(Backend be, Tensor logits, Tensor labels) {
        return new CausalLmLoss(be, logits, labels);
    }

    /** Σ of the per-target losses (in the logits' dtype, widened). */
    public double sum() {
        return sum;
    }

    /** Number of non-ignored targets. */
    public long count() {
        return count;
    }

    /** The mean loss {@code sum / count} (NaN when every target is ignored). */
    public double mean() {
        return sum / count;
    }

    /**
     * {@code dL/dlogits (B, T, V) = scale·(softmax − onehot)} per non-ignored row, zero rows elsewhere; for the
     * mean loss {@code scale = 1/count}, for gradient accumulation over micro-batches {@code 1/global count}.
     */
    public Tensor backward(double scale) {
        Tensor d = be.crossEntropyBackward(logits2, targets, IGNORE_INDEX, scale);     // (B·T, V)
        return be.reshape(d, logitsShape);
    }
}
