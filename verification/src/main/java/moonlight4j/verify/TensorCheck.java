package moonlight4j.verify;

import java.util.Arrays;

/**
 * The comparison of one output tensor with its golden value, elementwise {@code |ours − golden| ≤ abs + rel·|golden|}
 * (FORMAT §4).
 *
 * @param maxAbs         max |ours − golden|
 * @param maxRel         max |ours − golden| / |golden| over elements with golden ≠ 0
 * @param worstRatio     max |ours − golden| / (abs + rel·|golden|): ≤ 1 passes (0 when exact)
 * @param failing        elements outside the tolerance
 * @param firstFailing   flat index of the first failing element, −1 when none
 * @param bf16Mismatches elements whose bf16 bits differ (−1 when the golden tensor is not BF16)
 * @param problem        a shape/dtype/missing-output problem that fails the tensor outright, else null
 */
public record TensorCheck(String name, Tolerance tolerance, long numel, double maxAbs, double maxRel,
                          double worstRatio, long failing, long firstFailing, long bf16Mismatches, String problem) {

    public boolean pass() {
        return problem == null && failing == 0;
    }

    static TensorCheck problem(String name, Tolerance t, String problem) {
        return new TensorCheck(name, t, 0, Double.NaN, Double.NaN, Double.POSITIVE_INFINITY, 0, -1, -1, problem);
    }

    /** Compares {@code ours} with {@code golden} (same length) under {@code t}. */
    static TensorCheck compare(String name, Tolerance t, double[] ours, double[] golden, long bf16Mismatches) {
        if (ours.length != golden.length) {
            return problem(name, t, ours.length + " elements, golden has " + golden.length);
        }
        double maxAbs = 0, maxRel = 0, worst = 0;
        long failing = 0, first = -1;
        for (int i = 0; i < ours.length; i++) {
            double d = Math.abs(ours[i] - golden[i]);
            boolean ok = t.allows(ours[i], golden[i]);
            if (Double.isNaN(d)) d = ok ? 0 : Double.POSITIVE_INFINITY;
            if (!ok) {
                failing++;
                if (first < 0) first = i;
            }
            maxAbs = Math.max(maxAbs, d);
            if (golden[i] != 0) maxRel = Math.max(maxRel, d / Math.abs(golden[i]));
            double allowed = t.abs() + t.rel() * Math.abs(golden[i]);
            worst = Math.max(worst, d == 0 ? 0 : allowed == 0 ? Double.POSITIVE_INFINITY : d / allowed);
        }
        return new TensorCheck(name, t, ours.length, maxAbs, maxRel, worst, failing, first, bf16Mismatches, null);
    }

    /** One line for a report. */
    public String describe() {
        if (problem != null) return name + ": FAIL " + problem;
        String s = String.format("%s: max|Δ| %.3e, max rel %.3e, %s%s", name, maxAbs, maxRel, tolerance,
                tolerance.key() == null ? "" : " [" + tolerance.key() + "]");
        if (bf16Mismatches >= 0) s += ", bf16 bits differ in " + bf16Mismatches + " of " + numel;
        if (failing > 0) s += String.format(", FAIL %d of %d elements (first at flat index %d)", failing, numel, firstFailing);
        return s;
    }

    static String shapeStr(int[] s) {
        return Arrays.toString(s);
    }
}
