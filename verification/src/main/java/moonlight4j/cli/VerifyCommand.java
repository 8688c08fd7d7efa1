package moonlight4j.cli;

import moonlight4j.verify.Runners;
import moonlight4j.verify.CaseResult;
import moonlight4j.verify.Verifier;
import moonlight4j.verify.TensorCheck;

import moonlight4j.api.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * {@code moonlight verify}: every golden case of the chosen kinds on one backend, one row per case, and as the last
 * line {@code verify: P/N cases pass (S not implemented, backend=NAME)}. Exit 0 iff every implemented case passes
 * (with {@code --strict}, also none unimplemented).
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Check our outputs against the golden cases of the Python release (golden-data/FORMAT.md).")
public final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--golden", paramLabel = "DIR", defaultValue = "golden-data",
            description = "directory of golden case files (default: ${DEFAULT-VALUE})")
    Path golden;

    @Mixin
    BackendOption backend;

    @Option(names = "--kind", paramLabel = "K", split = ",", description = "only these kinds (comma-separated)")
    Set<String> kinds;

    @Option(names = "--strict", description = "also fail when a case's kind is not implemented")
    boolean strict;

    @Option(names = {"-v", "--verbose"}, description = "print per-tolerance-key errors and the config fields used")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (kinds != null) checkKinds(kinds, golden);
        Backend be = backend.resolve();
        return run(be, golden, kinds == null ? k -> true : kinds::contains, strict, verbose, System.out);
    }

    /** A --kind that names no case file and no runner is a typo: fail fast, listing what exists. */
    private static void checkKinds(Set<String> wanted, Path dir) throws Exception {
        Set<String> known = new java.util.TreeSet<>();
        for (Path f : Verifier.caseFiles(dir)) known.add(Verifier.kindFromName(f));
        Runners.all().forEach(r -> known.add(r.kind()));
        for (String k : wanted) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException("--kind '" + k + "': no such kind in " + dir + " or among the runners; known: "
                        + String.join(", ", known));
            }
        }
    }

    public static int run(Backend be, Path dir, Predicate<String> kinds, boolean strict, boolean verbose, PrintStream out)
            throws Exception {
        Verifier v = Verifier.standard();
        out.printf("%-42s %-16s %10s %10s  %-30s %s%n", "case", "kind", "max|Δ|", "max rel", "tolerance (tightest tensor)", "result");
        int pass = 0, fail = 0, notImplemented = 0;
        for (Path f : Verifier.caseFiles(dir)) {
            var r = v.verify(f, be, kinds);
            if (r.isEmpty()) continue;
            CaseResult c = r.get();
            printRow(c, verbose, out);
            switch (c.status()) {
                case PASS -> pass++;
                case FAIL -> fail++;
                case NOT_IMPLEMENTED -> notImplemented++;
            }
        }
        int n = pass + fail + notImplemented;
        out.printf("verify: %d/%d cases pass (%d not implemented, backend=%s)%n", pass, n, notImplemented, be.name());
        return fail == 0 && (!strict || notImplemented == 0) ? 0 : 1;
    }

    private static void printRow(CaseResult c, boolean verbose, PrintStream out) {
        if (c.status() == CaseResult.Status.NOT_IMPLEMENTED) {
            out.printf("%-42s %-16s %10s %10s  %-30s %s%n", c.name(), c.kind(), "-", "-", "-", c.status());
            return;
        }
        String tol = c.worst().map(w -> w.tolerance().toString()).orElse("-");
        out.printf("%-42s %-16s %10s %10s  %-30s %s%n", c.name(), c.kind(), fmt(c.maxAbs()), fmt(c.maxRel()), tol, c.status());
        for (TensorCheck t : c.checks()) {
            if (!t.pass() || (t.bf16Mismatches() >= 0 && t.problem() == null)) out.println("    " + t.describe());
        }
        if (c.status() == CaseResult.Status.FAIL || verbose) for (String note : c.notes()) out.println("    " + note);
        if (verbose) {
            c.worst().ifPresent(w -> out.println("    tightest: " + w.name() + String.format(" (%.3f of its tolerance)", w.worstRatio())));
            for (String line : byKey(c)) out.println("    " + line);
        }
    }

    /** Per tolerance key: tensors covered, max |Δ|, max rel, and how much of the tolerance was used. */
    private static List<String> byKey(CaseResult c) {
        Map<String, double[]> agg = new LinkedHashMap<>();
        for (TensorCheck t : c.checks()) {
            double[] a = agg.computeIfAbsent(t.tolerance().key() + " (" + t.tolerance() + ")", k -> new double[4]);
            a[0]++;
            a[1] = Math.max(a[1], nan0(t.maxAbs()));
            a[2] = Math.max(a[2], nan0(t.maxRel()));
            a[3] = Math.max(a[3], t.worstRatio());
        }
        List<String> lines = new ArrayList<>();
        agg.forEach((k, a) -> lines.add(String.format("%s: %d tensors, max|Δ| %.3e, max rel %.3e, %.3f of tolerance",
                k, (int) a[0], a[1], a[2], a[3])));
        return lines;
    }

    private static double nan0(double d) {
        return Double.isNaN(d) ? 0 : d;
    }

    private static String fmt(double d) {
        return Double.isNaN(d) ? "-" : String.format("%.3e", d);
    }
}
