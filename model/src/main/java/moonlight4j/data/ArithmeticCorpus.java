package moonlight4j.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The embedded default's deterministic synthetic corpus: sums {@code a+b=c} written as text and joined by
 * {@code ", "} ({@code 1+1=2, 1+2=3, ...}).
 * <ul>
 *   <li>training split: every single-digit sum (a, b ∈ 0..9, 100 facts) plus the two-digit sums (a, b ∈ 0..99, at
 *       least one ≥ 10) whose pair hash falls in the training part (≈ 90 %);</li>
 *   <li>held-out split: the other two-digit sums, never seen in training; it gives the validation loss and the
 *       exact-match accuracy that measure generalisation.</li>
 * </ul>
 * Which pair is held out depends only on (a, b), not on a seed, so every run holds out the same facts. The training
 * text repeats the single-digit facts {@link #SINGLE_DIGIT_REPEATS} times so the prompt {@code 1+1=2, 1+2=} is
 * learnt early; the order of facts is shuffled with the given seed.
 */
public final class ArithmeticCorpus {

    /** Single-digit facts appear this many times in the training text (they are 100 of ≈ 9,000 facts otherwise). */
    public static final int SINGLE_DIGIT_REPEATS = 8;
    /** One pair in this many is held out. */
    public static final int HOLD_OUT_EVERY = 10;

    /** One sum. */
    public record Fact(int a, int b) {
        public String prompt() {
            return a + "+" + b + "=";
        }

        public String answer() {
            return Integer.toString(a + b);
        }

        public String text() {
            return prompt() + answer();
        }
    }

    private ArithmeticCorpus() {
    }

    /** Whether the two-digit pair (a, b) belongs to the held-out split (a fixed hash, no seed). */
    public static boolean heldOut(int a, int b) {
        if (a < 10 && b < 10) return false;
        int h = (a * 7919 + b * 104729) ^ (a * 31 + b);
        return Math.floorMod(h * 0x9E3779B1, HOLD_OUT_EVERY) == 0;
    }

    /** Every training fact (single-digit ones repeated), shuffled with {@code seed}. */
    public static List<Fact> trainFacts(long seed) {
        List<Fact> f = new ArrayList<>();
        for (int r = 0; r < SINGLE_DIGIT_REPEATS; r++) {
            for (int a = 0; a < 10; a++) for (int b = 0; b < 10; b++) f.add(new Fact(a, b));
        }
        for (int a = 0; a < 100; a++) {
            for (int b = 0; b < 100; b++) {
                if ((a >= 10 || b >= 10) && !heldOut(a, b)) f.add(new Fact(a, b));
            }
        }
        Collections.shuffle(f, new Random(seed));
        return f;
    }

    /** Every held-out fact, in a fixed shuffled order. */
    public static List<Fact> heldOutFacts() {
        List<Fact> f = new ArrayList<>();
        for (int a = 0; a < 100; a++) for (int b = 0; b < 100; b++) if (heldOut(a, b)) f.add(new Fact(a, b));
        Collections.shuffle(f, new Random(12345));
        return f;
    }

    /** Facts as one text: {@code "1+1=2, 1+2=3, ..."} (each fact followed by ", "). */
    public static String text(List<Fact> facts) {
        StringBuilder sb = new StringBuilder();
        for (Fact x : facts) sb.append(x.text()).append(", ");
        return sb.toString();
    }

    /** The few-shot prompt for a fact: {@code "1+1=2, " + fact.prompt()} (as the brief's {@code 1+1=2, 1+2=}). */
    public static String fewShot(Fact f) {
        return "1+1=2, " + f.prompt();
    }
}
