package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.io.TensorInfo;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Runs golden cases and checks every {@code out.*} and {@code state.*} tensor of each against our outputs, with the
 * tolerance rules of golden-data/FORMAT.md §4 ({@link ToleranceTable}). {@code out.topk_idx} /
 * {@code out.topk_weight} are compared per row as sets of (expert, weight) pairs (FORMAT §3.4). A golden tensor the
 * runner did not produce, or an output the case does not have, fails the case; a malformed file fails its case
 * with the reason and the run goes on.
 */
public final class Verifier {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, CaseRunner> runners = new LinkedHashMap<>();
    private final Map<String, LinesCaseRunner> linesRunners = new LinkedHashMap<>();

    public Verifier(List<CaseRunner> runners, List<LinesCaseRunner> linesRunners) {
        for (CaseRunner r : runners) this.runners.put(r.kind(), r);
        for (LinesCaseRunner r : linesRunners) this.linesRunners.put(r.kind(), r);
    }

    /** The verifier with every registered runner ({@link Runners}). */
    public static Verifier standard() {
        return new Verifier(Runners.all(), Runners.lines());
    }

    /** The case files of {@code dir}: {@code *.safetensors} and {@code *.jsonl}, sorted by name. */
    public static List<Path> caseFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("golden directory not found: " + dir.toAbsolutePath());
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isRegularFile(p))
                    .filter(p -> p.getFileName().toString().endsWith(".safetensors")
                            || p.getFileName().toString().endsWith(".jsonl"))
                    .sorted()
                    .toList();
        }
    }

    /** The case name (file name without extension) and the kind its name announces ({@code <kind>__<variant>}). */
    static String caseName(Path file) {
        String f = file.getFileName().toString();
        int dot = f.lastIndexOf('.');
        return dot < 0 ? f : f.substring(0, dot);
    }

    public static String kindFromName(Path file) {
        String n = caseName(file);
        int sep = n.indexOf("__");
        return sep < 0 ? n : n.substring(0, sep);
    }

    /** Verifies one file if its kind passes {@code kinds}; empty when it is filtered out. */
    public Optional<CaseResult> verify(Path file, Backend be, Predicate<String> kinds) {
        long t0 = System.nanoTime();
        if (file.getFileName().toString().endsWith(".jsonl")) return verifyLines(file, kinds, t0);
        GoldenCase c;
        try {
            c = GoldenCase.open(file);
        } catch (Exception e) {
            String kind = kindFromName(file);
            if (!kinds.test(kind)) return Optional.empty();
            return Optional.of(fail(file, kind, "malformed case file: " + message(e), t0));
        }
        try (c) {
            if (!kinds.test(c.kind())) return Optional.empty();
            CaseRunner runner = runners.get(c.kind());
            if (runner == null) {
                return Optional.of(new CaseResult(c.name(), c.kind(), CaseResult.Status.NOT_IMPLEMENTED, List.of(),
                        List.of("no runner for kind '" + c.kind() + "'"), ms(t0)));
            }
            Map<String, Tensor> ours;
            try {
                ours = runner.run(c, be);
            } catch (Exception | Error e) {
                if (e instanceof VirtualMachineError vme && !(e instanceof OutOfMemoryError)) throw vme;
                if (System.getenv("MOONLIGHT_DEBUG") != null) e.printStackTrace();
                return Optional.of(fail(file, c.kind(), "runner failed: " + message(e), t0));
            }
            try {
                List<TensorCheck> checks = check(c, ours, be);
                List<String> notes = new ArrayList<>();
                if (!c.configUsed().isEmpty()) notes.add("config used: " + c.configUsed());
                boolean pass = checks.stream().allMatch(TensorCheck::pass);
                return Optional.of(new CaseResult(c.name(), c.kind(), pass ? CaseResult.Status.PASS : CaseResult.Status.FAIL,
                        checks, notes, ms(t0)));
            } catch (RuntimeException e) {
                return Optional.of(fail(file, c.kind(), "malformed case file: " + message(e), t0));
            } finally {
                ours.values().forEach(Tensor::close);
            }
        }
    }

    private Optional<CaseResult> verifyLines(Path file, Predicate<String> kinds, long t0) {
        String kind;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = r.readLine();
            JsonNode md = first == null ? null : JSON.readTree(first).get("__metadata__");
            if (md == null || !md.hasNonNull("kind")) throw new IllegalArgumentException("line 1 has no __metadata__.kind");
            kind = md.get("kind").asText();
        } catch (Exception e) {
            String k = kindFromName(file);
            return kinds.test(k) ? Optional.of(fail(file, k, "malformed case file: " + message(e), t0)) : Optional.empty();
        }
        if (!kinds.test(kind)) return Optional.empty();
        LinesCaseRunner runner = linesRunners.get(kind);
        if (runner == null) {
            return Optional.of(new CaseResult(caseName(file), kind, CaseResult.Status.NOT_IMPLEMENTED, List.of(),
                    List.of("no runner for kind '" + kind + "'"), ms(t0)));
        }
        try {
            List<String> mismatches = runner.mismatches(file);
            return Optional.of(new CaseResult(caseName(file), kind,
                    mismatches.isEmpty() ? CaseResult.Status.PASS : CaseResult.Status.FAIL, List.of(), mismatches, ms(t0)));
        } catch (Exception e) {
            return Optional.of(fail(file, kind, "runner failed: " + message(e), t0));
        }
    }

    /** Every golden out.* / state.* tensor against ours; plus a failure for each output the case does not have. */
    static List<TensorCheck> check(GoldenCase c, Map<String, Tensor> ours, Backend be) {
        List<TensorCheck> checks = new ArrayList<>();
        Set<String> golden = new HashSet<>();
        ToleranceTable tol = c.tolerances();
        boolean topkPairs = c.has("out.topk_idx") && c.has("out.topk_weight");
        for (String name : c.names()) {
            if (!name.startsWith("out.") && !name.startsWith("state.")) continue;
            golden.add(name);
            if (topkPairs && (name.equals("out.topk_idx") || name.equals("out.topk_weight"))) continue;
            checks.add(checkTensor(c, name, ours.get(name), be));
        }
        if (topkPairs) checks.addAll(TopkPairs.check(c, ours.get("out.topk_idx"), ours.get("out.topk_weight"), be, tol));
        ours.keySet().stream().filter(n -> !golden.contains(n)).sorted().forEach(n ->
                checks.add(TensorCheck.problem(n, Tolerance.exact("-"), "runner produced '" + n + "', which the case does not have")));
        return checks;
    }

    private static TensorCheck checkTensor(GoldenCase c, String name, Tensor t, Backend be) {
        TensorInfo g = c.info(name);
        boolean integer = !g.dtype().isFloating();
        Tolerance tol = c.tolerances().forTensor(name, integer);
        if (t == null) return TensorCheck.problem(name, tol, "missing: the runner did not produce it");
        if (!Arrays.equals(t.shape(), g.shape())) {
            return TensorCheck.problem(name, tol, "shape " + TensorCheck.shapeStr(t.shape()) + ", golden "
                    + TensorCheck.shapeStr(g.shape()));
        }
        if (t.dtype().isFloating() == integer) {
            return TensorCheck.problem(name, tol, "dtype " + t.dtype() + ", golden " + g.dtype());
        }
        long bf16 = -1;
        if (g.dtype() == DType.BF16 && t.dtype() == DType.BF16) {
            short[] a = be.toBf16Bits(t), b = c.bf16Bits(name);
            bf16 = 0;
            for (int i = 0; i < a.length; i++) if (a[i] != b[i]) bf16++;
        }
        return TensorCheck.compare(name, tol, be.toDoubles(t), c.doubles(name), bf16);
    }

    private static CaseResult fail(Path file, String kind, String why, long t0) {
        return new CaseResult(caseName(file), kind, CaseResult.Status.FAIL, List.of(), List.of(why), ms(t0));
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
