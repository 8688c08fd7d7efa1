package moonlight4j.optim;

/**
 * How Muon scales the learning rate of an {@code A×B} matrix (docs/muon.md#update-scale).
 *
 * <p>An orthogonalized full-rank {@code A×B} update has RMS {@code √(1/max(A,B))} (paper Lemma 1), so without a
 * correction big matrices get small updates and small ones large updates.
 */
public enum AdjustLr {

    /**
     * Moonlight (paper Eq. 4, release {@code adjust_lr_for_muon}): {@code lr · 0.2 · √max(A,B)}, which gives every
     * matrix an update RMS near AdamW's (≈ 0.2·lr), so Muon can reuse AdamW's lr and weight decay.
     */
    MATCH_RMS_ADAMW {
        @Override
        public double adjust(double lr, int a, int b) {
            double adjustedRatio = 0.2 * Math.sqrt(Math.max(a, b));   // same operation order as the release
            return lr * adjustedRatio;
        }
    },

    /** Keller Jordan's original Muon (paper footnote 4): {@code lr · √max(1, A/B)}. */
    ORIGINAL {
        @Override
        public double adjust(double lr, int a, int b) {
            return lr * Math.sqrt(Math.max(1.0, (double) a / b));
        }
    };

    /** The learning rate used for the update of an {@code a×b} matrix (a = out_features, b = in_features). */
    public abstract double adjust(double lr, int a, int b);
}
