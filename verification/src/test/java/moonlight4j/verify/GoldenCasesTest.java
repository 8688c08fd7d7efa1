package moonlight4j.verify;

import moonlight4j.api.BackendProvider;
import moonlight4j.api.Backends;
import moonlight4j.cli.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every public golden case of an implemented kind passes on every backend; {@code verify} over the whole directory. */
class GoldenCasesTest {


    static List<Path> implementedCases() throws Exception {
        Set<String> kinds = Runners.all().stream().map(CaseRunner::kind).collect(Collectors.toSet());
        List<Path> files = Verifier.caseFiles(GoldenDir.find()).stream().filter(f -> {
            try (GoldenCase c = GoldenCase.open(f)) {
                return kinds.contains(c.kind());
            } catch (Exception e) {
                return false;
            }
        }).toList();
        assertThat(files).as("implemented golden cases").isNotEmpty();
        return files;
    }

    /** Every implemented case on every backend that runs here (the oracle and, where its natives load, nd4j). */
    static Stream<Arguments> casesOnEveryBackend() throws Exception {
        List<Path> cases = implementedCases();
        List<String> backends = Backends.providers().stream().filter(p -> p.unavailableReason() == null)
                .map(BackendProvider::name).toList();
        assertThat(backends).contains("cpu");
        return backends.stream().flatMap(b -> cases.stream().map(f -> Arguments.of(b, f)));
    }

    /**
     * The one golden element this port does not meet, and why it is not a bug (docs/verification.md#the-muon_train-knife-edge):
     * {@code model.embed_tokens.weight[72,28]} of {@code muon_train__tiny_2layer}. Token 72 occurs only in step 2,
     * so AdamW moves that element by about lr·sign(g₂) at steps 2 and 3, and the sign of its step-2 gradient (+3.2e-6
     * in the release, −2.9e-4 in the release's own fp32-NS run, −1.24e-5 here) hangs on one exact bf16 rounding tie
     * at step 1 (the NS input of {@code model.layers.0.mlp.up_proj.weight[55,24]}: the release's fp32 value lies on
     * the midpoint and rounds half-even up; ours is 6 ulps below it and rounds down). Measured with the release's own
     * code (scripts/muon_train_knife_edge.py): moving its step-1 gradients by ≤ 1 fp32 ulp flips this sign in 3 of 20
     * runs, each landing exactly where we land (+0.0519), and its fp64 twin lands there too (0.0523, the case's
     * {@code measured_max_abs_vs_fp64}); the case's abs 0.05 was sized from 11 row reorderings that missed it. Fed our
     * step-1 gradients, the release optimizer reproduces our weights within 1.2e-7. So the test asserts exactly this
     * deviation — one element, this index, within the fp64 twin's own distance — and everything else of the case,
     * the gap-ratio check included; {@code moonlight verify} still reports the case as FAIL.
     */
    static final String KNIFE_EDGE_CASE = "muon_train__tiny_2layer";
    static final String KNIFE_EDGE_TENSOR = "out.final.param.model.embed_tokens.weight";
    static final long KNIFE_EDGE_INDEX = 72 * 48 + 28;                 // [72, 28] of a (V, 48) embedding
    static final double KNIFE_EDGE_BOUND = 0.0523;                    // the release's fp64 twin at this element

    static boolean isKnifeEdge(CaseResult r) {
        return r.name().equals(KNIFE_EDGE_CASE) && r.status() != CaseResult.Status.PASS;
    }

    /** The known deviation and nothing else: see {@link #KNIFE_EDGE_CASE}. */
    static void assertOnlyTheKnifeEdge(CaseResult r) {
        List<TensorCheck> failing = r.checks().stream().filter(t -> !t.pass()).toList();
        assertThat(failing).as("failing checks of %s", r.name()).hasSize(1);
        TensorCheck t = failing.get(0);
        assertThat(t.name()).as(t.describe()).isEqualTo(KNIFE_EDGE_TENSOR);
        assertThat(t.failing()).as(t.describe()).isEqualTo(1);
        assertThat(t.firstFailing()).as(t.describe()).isEqualTo(KNIFE_EDGE_INDEX);
        assertThat(t.maxAbs()).as(t.describe()).isLessThanOrEqualTo(KNIFE_EDGE_BOUND);
        assertThat(r.checks()).as("the pooled gap-ratio check of the final parameters runs and passes")
                .anyMatch(c -> c.gap() != null && c.name().startsWith("out.final.param") && c.pass());
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("casesOnEveryBackend")
    void passes(String backend, Path file) {
        CaseResult r = Verifier.standard().verify(file, Backends.get(backend), k -> true).orElseThrow();
        if (isKnifeEdge(r)) {
            assertOnlyTheKnifeEdge(r);
            return;
        }
        assertThat(r.status())
                .as("%s:%n%s%n%s", r.name(), String.join("\n", r.notes()),
                        r.checks().stream().filter(t -> !t.pass()).map(TensorCheck::describe).collect(Collectors.joining("\n")))
                .isEqualTo(CaseResult.Status.PASS);
        assertThat(r.checks()).isNotEmpty();
        if (r.kind().equals("newton_schulz") && backend.equals("cpu")) {
            // The oracle follows golden-data/FORMAT.md §3.1's rounding model, so the release's bf16 bits come out exactly.
            TensorCheck x = r.checks().stream().filter(t -> t.name().equals("out.X")).findFirst().orElseThrow();
            assertThat(x.bf16Mismatches()).as("bf16 bit mismatches of out.X").isZero();
        }
    }

    @Test
    void verifyWholeDirectoryFailsNothingButTheKnifeEdgeAndEndsWithTheSummary() throws Exception {
        CliRun.Result run = CliRun.run("verify", "--backend", "cpu", "--golden", GoldenDir.find().toString());
        int rc = run.rc();
        String[] lines = run.out().split("\n");
        List<String> failed = Stream.of(lines).filter(l -> l.endsWith(" FAIL")).map(l -> l.split("\\s+")[0]).toList();
        assertThat(failed).as("failed cases (the knife edge at most: passes() checks what it is)")
                .isSubsetOf(KNIFE_EDGE_CASE);
        assertThat(rc).as(String.join("\n", lines)).isEqualTo(failed.isEmpty() ? 0 : 1);
        assertThat(lines[0]).startsWith("backend: cpu");
        Matcher m = Pattern.compile("verify: (\\d+)/(\\d+) cases pass \\((\\d+) not implemented, backend=cpu\\)")
                .matcher(lines[lines.length - 1]);
        assertThat(m.matches()).as("last line: %s", lines[lines.length - 1]).isTrue();
        int pass = Integer.parseInt(m.group(1)), total = Integer.parseInt(m.group(2)), notImpl = Integer.parseInt(m.group(3));
        assertThat(total).isEqualTo(Verifier.caseFiles(GoldenDir.find()).size());
        Set<String> lineKinds = Runners.lines().stream().map(LinesCaseRunner::kind).collect(Collectors.toSet());
        long lineCases = Verifier.caseFiles(GoldenDir.find()).stream()
                .filter(f -> f.getFileName().toString().endsWith(".jsonl"))
                .filter(f -> lineKinds.contains(f.getFileName().toString().split("__")[0]))
                .count();
        assertThat(pass).isEqualTo(implementedCases().size() + lineCases - failed.size());
        assertThat(pass + notImpl + failed.size()).as("every case passes, is not implemented, or is the knife edge")
                .isEqualTo(total);
    }
}
