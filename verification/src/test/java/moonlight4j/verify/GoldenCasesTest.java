package moonlight4j.verify;

import moonlight4j.cli.Main;

import moonlight4j.api.BackendProvider;
import moonlight4j.api.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("casesOnEveryBackend")
    void passes(String backend, Path file) {
        CaseResult r = Verifier.standard().verify(file, Backends.get(backend), k -> true).orElseThrow();
        assertThat(r.status())
                .as("%s:%n%s%n%s", r.name(), String.join("\n", r.notes()),
                        r.checks().stream().filter(t -> !t.pass()).map(TensorCheck::describe).collect(Collectors.joining("\n")))
                .isEqualTo(CaseResult.Status.PASS);
        assertThat(r.checks()).isNotEmpty();
        if (r.kind().equals("newton_schulz") && backend.equals("cpu")) {
            // The oracle follows FORMAT §3.1's rounding model, so the release's bf16 bits come out exactly.
            TensorCheck x = r.checks().stream().filter(t -> t.name().equals("out.X")).findFirst().orElseThrow();
            assertThat(x.bf16Mismatches()).as("bf16 bit mismatches of out.X").isZero();
        }
    }

    @Test
    void verifyWholeDirectoryExitsZeroAndEndsWithTheSummary() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int rc;
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(ps);
            rc = Main.run("verify", "--backend", "cpu", "--golden", GoldenDir.find().toString());
        } finally {
            System.setOut(saved);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(rc).as(String.join("\n", lines)).isZero();
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
        assertThat(pass).isEqualTo(implementedCases().size() + lineCases);
        assertThat(pass + notImpl).as("exit 0 means no case failed").isEqualTo(total);
    }
}
