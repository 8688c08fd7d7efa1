package moonlight4j.verify;

/**
 * One tolerance of golden-data/FORMAT.md §4: a value passes if {@code |ours − golden| ≤ abs + rel·|golden|}; with a
 * gap-ratio check (bf16 results) the tensors the key covers must also pass {@code Σ|C − G| ≤ maxGapRatio·Σ|R − G|}
 * pooled over all of them, R being the reference named by {@code gapRef} ({@link GapRatio}).
 *
 * @param key         the metadata key it came from (or a description such as "exact (integer)")
 * @param maxGapRatio ρ of the gap-ratio check, NaN when the entry has none
 * @param gapRef      the reference tensor name (ending in {@code .*} for a {@code .*} key), null when none
 */
public record Tolerance(double abs, double rel, String key, double maxGapRatio, String gapRef) {

    /** An elementwise tolerance without a gap-ratio check. */
    public Tolerance(double abs, double rel, String key) {
        this(abs, rel, key, Double.NaN, null);
    }

    /** Integers and other exact comparisons. */
    public static Tolerance exact(String why) {
        return new Tolerance(0, 0, why);
    }

    public boolean allows(double ours, double golden) {
        if (Double.isNaN(golden) || Double.isNaN(ours)) return Double.isNaN(golden) && Double.isNaN(ours);
        if (Double.isInfinite(golden) || Double.isInfinite(ours)) return ours == golden;
        return Math.abs(ours - golden) <= abs + rel * Math.abs(golden);
    }

    /** True when the entry carries {@code max_gap_ratio} and {@code gap_ref}. */
    public boolean hasGapCheck() {
        return gapRef != null;
    }

    /** Loosest first: larger abs, then larger rel. */
    boolean looserThan(Tolerance o) {
        return abs != o.abs ? abs > o.abs : rel > o.rel;
    }

    @Override
    public String toString() {
        return "abs " + abs + " rel " + rel + (hasGapCheck() ? " gap ratio " + maxGapRatio : "");
    }
}
