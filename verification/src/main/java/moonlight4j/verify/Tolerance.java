package moonlight4j.verify;

/**
 * One tolerance of golden-data/FORMAT.md §4: a value passes if {@code |ours − golden| ≤ abs + rel·|golden|}.
 *
 * @param key the metadata key it came from (or a description such as "exact (integer)")
 */
public record Tolerance(double abs, double rel, String key) {

    /** Integers and other exact comparisons. */
    public static Tolerance exact(String why) {
        return new Tolerance(0, 0, why);
    }

    public boolean allows(double ours, double golden) {
        if (Double.isNaN(golden) || Double.isNaN(ours)) return Double.isNaN(golden) && Double.isNaN(ours);
        if (Double.isInfinite(golden) || Double.isInfinite(ours)) return ours == golden;
        return Math.abs(ours - golden) <= abs + rel * Math.abs(golden);
    }

    /** Loosest first: larger abs, then larger rel. */
    boolean looserThan(Tolerance o) {
        return abs != o.abs ? abs > o.abs : rel > o.rel;
    }

    @Override
    public String toString() {
        return "abs " + abs + " rel " + rel;
    }
}
