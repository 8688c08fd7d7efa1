package moonlight4j.train;

/**
 * toy_train's schedule, {@code get_cosine_schedule_with_warmup(num_warmup_steps, num_training_steps, 0.5)}
 * (docs/muon.md#training-loop-and-schedule): linear warm-up then cosine decay to 0,
 * <pre>
 *   f(k) = k / W                                              k &lt; W
 *   f(k) = max(0, ½(1 + cos(π · (k − W) / max(1, T − W))))    otherwise
 * </pre>
 * and step k (0-based) uses {@code lr = base · f(k)} — so, as in toy_train, the very first step has lr 0 when W &gt; 0.
 */
public record LrSchedule(double base, int warmup, int total) {

    public LrSchedule {
        if (!(base >= 0) || Double.isInfinite(base)) throw new IllegalArgumentException("--lr must be ≥ 0, got " + base);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be ≥ 0, got " + warmup);
        if (total < 1) throw new IllegalArgumentException("--steps must be ≥ 1, got " + total);
    }

    /** The learning rate of step {@code k} (0-based). */
    public double lr(int k) {
        if (k < warmup) return base * k / warmup;
        double progress = (double) (k - warmup) / Math.max(1, total - warmup);
        return base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
