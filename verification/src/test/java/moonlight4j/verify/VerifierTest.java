package moonlight4j.verify;

import moonlight4j.cli.VerifyCommand;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Tensor;
import moonlight4j.io.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/** The verifier's rules on small synthetic case files: missing/extra outputs, top-k sets, malformed files. */
class VerifierTest {

    private static final Backend BE = Backends.get("cpu");

    @TempDir
    Path dir;

    /** A runner for a test kind, from a function of the case. */
    private static CaseRunner runner(String kind, BiFunction<GoldenCase, Backend, Map<String, Tensor>> f) {
        return new CaseRunner() {
            public String kind() {
                return kind;
            }

            public Map<String, Tensor> run(GoldenCase c, Backend be) {
                return f.apply(c, be);
            }
        };
    }

    private Path write(String name, String kind, Map<String, Tensor> tensors, String tolerance) throws Exception {
        Path p = dir.resolve(name + ".safetensors");
        Safetensors.write(p, tensors, Map.of("kind", kind, "config", "{}", "tolerance", tolerance));
        tensors.values().forEach(Tensor::close);
        return p;
    }

    private Path toyCase() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("in.x", BE.fromFloats(new float[]{1, 2, 3, 4}, 2, 2));
        t.put("out.a", BE.fromFloats(new float[]{1, 2, 3, 4}, 2, 2));
        t.put("out.b", BE.fromLongs(new long[]{7, 8, 9}, 3));
        t.put("state.step1.c", BE.fromFloats(new float[]{0.5f}, 1));
        return write("toy__one", "toy", t, "{\"out.a\": {\"abs\": 1e-6, \"rel\": 0}, \"state.stepK.*\": {\"abs\": 0.1, \"rel\": 0}}");
    }

    private static Map<String, Tensor> outputs(float aShift, boolean withB, boolean extra) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("out.a", BE.fromFloats(new float[]{1 + aShift, 2, 3, 4}, 2, 2));
        if (withB) m.put("out.b", BE.fromLongs(new long[]{7, 8, 9}, 3));
        m.put("state.step1.c", BE.fromFloats(new float[]{0.55f}, 1));
        if (extra) m.put("out.z", BE.fromFloats(new float[]{0}, 1));
        return m;
    }

    private CaseResult verify(Path file, CaseRunner r) {
        return new Verifier(List.of(r), List.of()).verify(file, BE, k -> true).orElseThrow();
    }

    @Test
    void passesWhenEveryTensorIsWithinItsTolerance() throws Exception {
        CaseResult r = verify(toyCase(), runner("toy", (c, be) -> outputs(0, true, false)));
        assertThat(r.status()).isEqualTo(CaseResult.Status.PASS);
        assertThat(r.checks()).extracting(TensorCheck::name).containsExactlyInAnyOrder("out.a", "out.b", "state.step1.c");
        assertThat(r.maxAbs()).isCloseTo(0.05, org.assertj.core.api.Assertions.within(1e-6));
    }

    @Test
    void aMissingGoldenTensorFailsNamingIt() throws Exception {
        CaseResult r = verify(toyCase(), runner("toy", (c, be) -> outputs(0, false, false)));
        assertThat(r.status()).isEqualTo(CaseResult.Status.FAIL);
        assertThat(r.checks()).filteredOn(t -> !t.pass()).extracting(TensorCheck::describe)
                .singleElement().asString().contains("out.b").contains("missing");
    }

    @Test
    void anOutputTheCaseDoesNotHaveFails() throws Exception {
        CaseResult r = verify(toyCase(), runner("toy", (c, be) -> outputs(0, true, true)));
        assertThat(r.status()).isEqualTo(CaseResult.Status.FAIL);
        assertThat(r.checks()).filteredOn(t -> !t.pass()).extracting(TensorCheck::name).containsExactly("out.z");
    }

    @Test
    void aValueOutsideTheToleranceFails() throws Exception {
        CaseResult r = verify(toyCase(), runner("toy", (c, be) -> outputs(1e-5f, true, false)));
        assertThat(r.status()).isEqualTo(CaseResult.Status.FAIL);
        TensorCheck a = r.checks().stream().filter(t -> t.name().equals("out.a")).findFirst().orElseThrow();
        assertThat(a.failing()).isEqualTo(1);
        assertThat(a.firstFailing()).isZero();
    }

    @Test
    void aRunnerExceptionFailsTheCaseWithTheReason() throws Exception {
        CaseResult r = verify(toyCase(), runner("toy", (c, be) -> {
            throw new IllegalStateException("boom in runner");
        }));
        assertThat(r.status()).isEqualTo(CaseResult.Status.FAIL);
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).contains("boom in runner"));
    }

    @Test
    void topkIsComparedPerRowAsASetOfPairs() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("out.topk_idx", BE.fromLongs(new long[]{3, 1, 2, 0, 5, 4}, 2, 3));
        t.put("out.topk_weight", BE.fromFloats(new float[]{0.3f, 0.1f, 0.2f, 0.0f, 0.5f, 0.4f}, 2, 3));
        Path f = write("gate__x", "gate", t, "{\"out.topk_idx\": {\"abs\": 0, \"rel\": null}, "
                + "\"out.topk_weight\": {\"abs\": 1e-6, \"rel\": 1e-5}}");
        CaseResult permuted = verify(f, runner("gate", (c, be) -> new LinkedHashMap<>(Map.of(
                "out.topk_idx", be.fromLongs(new long[]{1, 2, 3, 4, 5, 0}, 2, 3),
                "out.topk_weight", be.fromFloats(new float[]{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.0f}, 2, 3)))));
        assertThat(permuted.status()).isEqualTo(CaseResult.Status.PASS);
        CaseResult wrongPair = verify(f, runner("gate", (c, be) -> new LinkedHashMap<>(Map.of(
                "out.topk_idx", be.fromLongs(new long[]{1, 2, 3, 4, 5, 0}, 2, 3),
                "out.topk_weight", be.fromFloats(new float[]{0.2f, 0.1f, 0.3f, 0.4f, 0.5f, 0.0f}, 2, 3)))));
        assertThat(wrongPair.status()).isEqualTo(CaseResult.Status.FAIL);
        CaseResult wrongExpert = verify(f, runner("gate", (c, be) -> new LinkedHashMap<>(Map.of(
                "out.topk_idx", be.fromLongs(new long[]{1, 2, 6, 4, 5, 0}, 2, 3),
                "out.topk_weight", be.fromFloats(new float[]{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.0f}, 2, 3)))));
        assertThat(wrongExpert.status()).isEqualTo(CaseResult.Status.FAIL);
    }

    @Test
    void aMalformedFileFailsItsCaseAndTheRunGoesOn() throws Exception {
        Files.write(dir.resolve("newton_schulz__broken.safetensors"), new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9});
        Files.copy(GoldenDir.find().resolve("newton_schulz__64x96.safetensors"), dir.resolve("newton_schulz__64x96.safetensors"));
        Files.writeString(dir.resolve("tokenizer__t.jsonl"), "{\"__metadata__\": {\"kind\": \"tokenizer\"}}\n");
        toyCase();                                                   // kind "toy": no standard runner
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc = VerifyCommand.run(BE, dir, k -> true, false, false, new PrintStream(buf, true, StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(rc).isEqualTo(1);
        assertThat(out).contains("newton_schulz__broken").contains("malformed case file");
        String[] lines = out.split("\n");
        // the tokenizer case has no vocabulary next to it, so its runner fails it; "toy" has no runner
        assertThat(lines[lines.length - 1]).isEqualTo("verify: 1/4 cases pass (1 not implemented, backend=cpu)");

        ByteArrayOutputStream only = new ByteArrayOutputStream();
        int rcKind = VerifyCommand.run(BE, dir, k -> k.equals("toy") || k.equals("tokenizer"), true, false,
                new PrintStream(only, true, StandardCharsets.UTF_8));
        String[] l2 = only.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(l2[l2.length - 1]).isEqualTo("verify: 0/2 cases pass (1 not implemented, backend=cpu)");
        assertThat(rcKind).as("--strict fails on unimplemented kinds").isEqualTo(1);
        assertThat(VerifyCommand.run(BE, dir, k -> k.equals("toy"), false, false, new PrintStream(new ByteArrayOutputStream())))
                .as("without --strict, unimplemented is not a failure").isZero();
    }
}
