package moonlight4j.testing;

import org.quicktheories.QuickTheory;

/**
 * QuickTheories with a fixed seed, so a falsified property is reproducible: every {@code qt()} of a test run draws
 * from the same seed, printed once per JVM (QuickTheories' own failure message repeats it as "Seed was N").
 * {@code -Dqt.seed=N} on the Maven command line (surefire passes it to the test JVM) replays or varies the draw.
 * Test classes are not shared across modules, so each module's test tree has this same small class.
 */
public final class Qt {

    /** The default seed (any fixed value; this one is the arXiv id of the Muon-is-scalable paper). */
    public static final long DEFAULT_SEED = 250216982L;
    /** The seed of this run: {@code qt.seed} when given, else {@link #DEFAULT_SEED}. */
    public static final long SEED = seed();

    private Qt() {
    }

    private static long seed() {
        String s = System.getProperty("qt.seed");
        long seed;
        try {
            seed = s == null || s.isBlank() ? DEFAULT_SEED : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-Dqt.seed=" + s + ": expected a whole number (a long)", e);
        }
        System.out.println("QuickTheories seed: " + seed + " (override with -Dqt.seed=N)");
        return seed;
    }

    /** {@code QuickTheory.qt()} seeded with {@link #SEED}. */
    public static QuickTheory qt() {
        return QuickTheory.qt().withFixedSeed(SEED);
    }
}
