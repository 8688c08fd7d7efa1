package moonlight4j.verify;

import moonlight4j.api.Bf16;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gap-ratio check of golden-data/FORMAT.md §4, pooled per tolerance key over every tensor the key covers: with C
 * our values (rounded to bf16 when the golden tensor is BF16), G the golden values and R the reference tensor the
 * key's {@code gap_ref} names, in double, {@code dev = Σ|C − G|}, {@code gap = Σ|R − G|}; pass iff
 * {@code dev ≤ ρ·gap} (if gap = 0: iff dev = 0). gap is how far the release's own float32 run lies from its bf16 run;
 * a port that rounds where the release rounds lands well inside it, one that rounds elsewhere near ratio 1.
 */
final class GapRatio {

    private static final class Pool {
        final Tolerance tolerance;
        double dev, gap;
        long n;
        final List<String> problems = new ArrayList<>();

        Pool(Tolerance t) {
            tolerance = t;
        }
    }

    private final Map<String, Pool> pools = new LinkedHashMap<>();

    /** Adds one tensor's elements: ours, golden and reference of equal length (else a problem of the key). */
    void add(Tolerance t, String name, double[] ours, double[] golden, double[] ref, boolean goldenIsBf16) {
        Pool p = pools.computeIfAbsent(t.key(), k -> new Pool(t));
        if (ours.length != golden.length || ref.length != golden.length) {
            p.problems.add(name + ": " + ours.length + " values, golden " + golden.length + ", reference " + ref.length);
            return;
        }
        for (int i = 0; i < golden.length; i++) {
            double c = goldenIsBf16 ? Bf16.round((float) ours[i]) : ours[i];
            p.dev += Math.abs(c - golden[i]);
            p.gap += Math.abs(ref[i] - golden[i]);
        }
        p.n += golden.length;
    }

    /** A tensor of the key that could not be compared (e.g. its reference is missing): fails the key's check. */
    void problem(Tolerance t, String why) {
        pools.computeIfAbsent(t.key(), k -> new Pool(t)).problems.add(why);
    }

    /** One check per key, named {@code <key> (gap ratio)}. */
    List<TensorCheck> checks() {
        List<TensorCheck> out = new ArrayList<>();
        for (Pool p : pools.values()) {
            String name = p.tolerance.key() + " (gap ratio)";
            out.add(p.problems.isEmpty() ? TensorCheck.gapRatio(name, p.tolerance, p.n, p.dev, p.gap)
                    : TensorCheck.problem(name, p.tolerance, String.join("; ", p.problems)));
        }
        return out;
    }
}
