package moonlight4j.reliability;

import moonlight4j.api.Tensor;
import moonlight4j.cli.CliRun;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static moonlight4j.reliability.TrainFixtures.BE;
import static moonlight4j.reliability.TrainFixtures.run;
import static org.assertj.core.api.Assertions.assertThat;

/** --resume from damaged or mismatched checkpoints, and what a resumed run cleans up. */
class ResumeReliabilityTest {

    @TempDir
    static Path tmp;
    static Path data, muon, adamw;
    static Path chatBase, chat, sft;

    private static String[] train(String... extra) {
        String[] common = {"train", "--backend", "cpu", "--dataset", data.toString(), "--seq-len", "16", "--batch", "2"};
        String[] out = java.util.Arrays.copyOf(common, common.length + extra.length);
        System.arraycopy(extra, 0, out, common.length, extra.length);
        return out;
    }

    /** Two-step runs with a checkpoint per step: Muon, AdamW, and a fine-tuning one. */
    @BeforeAll
    static void setUp() throws IOException {
        data = TrainFixtures.text(tmp);
        CliRun.Result r = run(train("--steps", "2", "--save-every", "1", "--out", tmp.resolve("muon").toString()));
        assertThat(r.rc()).as(r.err()).isEqualTo(0);
        muon = tmp.resolve("muon/muon/checkpoints/step-000002");
        r = run(train("--steps", "2", "--save-every", "1", "--optimizer", "adamw", "--out", tmp.resolve("adamw").toString()));
        assertThat(r.rc()).as(r.err()).isEqualTo(0);
        adamw = tmp.resolve("adamw/adamw/checkpoints/step-000002");
        chatBase = TrainFixtures.chatModel(tmp);
        chat = TrainFixtures.chat(tmp, 16);
        r = run("train", "--backend", "cpu", "--dataset", chat.toString(), "--init", chatBase.toString(), "--lr", "1e-3",
                "--batch", "8", "--save-every", "1", "--out", tmp.resolve("sft").toString());
        assertThat(r.rc()).as(r.err()).isEqualTo(0);
        sft = tmp.resolve("sft.checkpoints/step-000002");
    }

    /** A copy of {@code checkpoint} named {@code name}, for one case to damage. */
    private static Path copy(Path checkpoint, String name) throws IOException {
        Path to = Files.createDirectories(tmp.resolve("cases")).resolve(name);
        try (Stream<Path> s = Files.walk(checkpoint)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(p, to.resolve(checkpoint.relativize(p).toString()));
            }
        }
        return to;
    }

    private static Path withState(Path checkpoint, String name, UnaryOperator<String> edit) throws IOException {
        Path c = copy(checkpoint, name);
        Path f = c.resolve("trainer_state.json");
        Files.writeString(f, edit.apply(Files.readString(f)));
        return c;
    }

    /** Rewrites one tensor of a safetensors file with its first value replaced by {@code value}. */
    private static void poison(Path file, String keyEnding, float value) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile f = Safetensors.open(file)) {
            meta = f.metadata();
            boolean done = false;
            for (String n : f.names()) {
                Tensor t = f.load(BE, n);
                if (!done && n.endsWith(keyEnding)) {
                    float[] v = BE.toFloats(t);
                    v[0] = value;
                    t.close();
                    t = BE.fromFloats(v, t.shape());
                    done = true;
                }
                all.put(n, t);
            }
            assertThat(done).as(keyEnding).isTrue();
        }
        Files.delete(file);
        Safetensors.write(file, all, meta);
        all.values().forEach(Tensor::close);
    }

    private static void refused(Path checkpoint, String... expected) {
        CliRun.Result r = run(train("--steps", "3", "--resume", checkpoint.toString(), "--out",
                tmp.resolve("out-" + checkpoint.getFileName()).toString()));
        assertThat(r.rc()).as(r.out() + r.err()).isEqualTo(2);
        for (String e : expected) assertThat(r.err()).as(checkpoint.getFileName().toString()).contains(e);
        assertThat(r.out()).doesNotContain("resumed");
    }

    @Test
    void everyFieldOfTrainerStateIsValidatedNamingTheFile() throws IOException {
        Path neg = withState(muon, "negative", s -> s.replaceFirst("\"step\" : 2", "\"step\" : -5"));
        refused(neg, neg.resolve("trainer_state.json") + ": \"step\" must be an integer in [0, 2147483647], got -5");
        Path word = withState(muon, "word", s -> s.replaceFirst("\"step\" : 2", "\"step\" : \"sixty\""));
        refused(word, word.resolve("trainer_state.json") + ": \"step\" must be an integer in [0, 2147483647], got \"sixty\"");
        Path far = withState(muon, "far", s -> s.replaceFirst("\"position\" : \\d+", "\"position\" : 99999999"));
        refused(far, far.resolve("trainer_state.json") + ": \"position\" 99999999 (epoch 0) does not match step 2");
        Path cut = withState(muon, "truncated", s -> s.substring(0, s.length() / 2));
        refused(cut, cut.resolve("trainer_state.json") + ": not valid JSON, the file is truncated or damaged");
        Path seed = withState(muon, "seed", s -> s.replaceFirst("\"seed\" : \\d+", "\"seed\" : 1.5"));
        refused(seed, "\"seed\" must be an integer");
        Path files = withState(muon, "files", s -> s.replaceFirst("\"optimizer_files\" : \\[[^]]*]",
                "\"optimizer_files\" : [ 7 ]"));
        refused(files, "\"optimizer_files\" must hold file names (strings), got 7");
    }

    @Test
    void anAdamWStateInAMuonCheckpointIsRefusedNamingTheMissingMomentumBuffer() throws IOException {
        Path c = copy(muon, "adamw-state");
        Files.copy(adamw.resolve("optimizer.safetensors"), c.resolve("optimizer.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        refused(c, c.resolve("optimizer.safetensors") + ": the optimizer state of model.layers.",
                "has [moment1, moment2, step] but muon keeps [momentum_buffer] for it; missing momentum_buffer");
    }

    @Test
    void aNonFiniteOptimizerStateOrWeightIsRefused() throws IOException {
        Path moment = copy(adamw, "nan-moment");
        poison(moment.resolve("optimizer.safetensors"), ".moment2", Float.NaN);
        CliRun.Result r = run(train("--steps", "3", "--optimizer", "adamw", "--resume", moment.toString(), "--out",
                tmp.resolve("out-nan-moment").toString()));
        assertThat(r.rc()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(moment.resolve("optimizer.safetensors") + ": optimizer state '")
                .contains(".moment2' holds NaN/Inf");
        Path weight = copy(muon, "inf-weight");
        poison(weight.resolve("model/model.safetensors"), "q_proj.weight", Float.POSITIVE_INFINITY);
        refused(weight, weight.resolve("model") + ": weight model.layers.", "q_proj.weight holds NaN/Inf");
    }

    @Test
    void aFineTuningCheckpointIsValidatedToo() throws IOException {
        Path neg = withState(sft, "sft-negative", s -> s.replaceFirst("\"step\" : 2", "\"step\" : -5"));
        Path batch = withState(sft, "sft-batch", s -> s.replaceFirst("\"batch\" : \\d+", "\"batch\" : 99999999"));
        Path cut = withState(sft, "sft-truncated", s -> s.substring(0, 40));
        Object[][] cases = {
                {neg, neg.resolve("trainer_state.json") + ": \"step\" must be an integer in [0, 2147483647], got -5"},
                {batch, batch.resolve("trainer_state.json") + ": \"batch\" 99999999 (epoch 0) does not match step 2"},
                {cut, cut.resolve("trainer_state.json") + ": not valid JSON, the file is truncated or damaged"},
        };
        for (Object[] c : cases) {
            CliRun.Result r = run("train", "--backend", "cpu", "--dataset", chat.toString(), "--init",
                    chatBase.toString(), "--lr", "1e-3", "--batch", "8", "--resume", c[0].toString(), "--out",
                    tmp.resolve("out-" + ((Path) c[0]).getFileName()).toString());
            assertThat(r.rc()).as(r.err()).isEqualTo(2);
            assertThat(r.err()).contains((String) c[1]);
        }
    }

    /** A resumed run removes the partial directory a killed save left and the metrics rows past its resume step. */
    @Test
    void aResumedRunRemovesLeftoversAndRowsPastTheResumeStep() throws IOException {
        Path out = tmp.resolve("killed");
        CliRun.Result r = run(train("--steps", "2", "--save-every", "1", "--out", out.toString()));
        assertThat(r.rc()).as(r.err()).isEqualTo(0);
        Path checkpoints = out.resolve("muon/checkpoints");
        // what a run killed during the save of step 3 leaves behind, as if it had logged steps 3 to 5 (5 cut short)
        Path partial = Files.createDirectories(checkpoints.resolve(".step-000003.8812345567"));
        Files.writeString(partial.resolve("trainer_state.json"), "{\"step\"");
        Files.writeString(checkpoints.resolve(".latest.5501.tmp"), "step-0");
        Path metrics = out.resolve("metrics.csv");
        List<String> rows = Files.readAllLines(metrics);
        String step2 = rows.get(2);
        Files.write(metrics, List.of(step2.replaceFirst("^muon,2,", "muon,3,"), step2.replaceFirst("^muon,2,", "muon,4,"),
                "muon,5,1"), java.nio.file.StandardOpenOption.APPEND);
        r = run(train("--steps", "3", "--resume", out.resolve("muon").toString(), "--out", out.toString()));
        assertThat(r.rc()).as(r.err()).isEqualTo(0);
        assertThat(r.out()).contains("at step 2");
        try (Stream<Path> s = Files.list(checkpoints)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("latest", "step-000002");
        }
        List<String> after = Files.readAllLines(metrics);
        assertThat(after.subList(1, after.size()).stream().map(l -> l.split(",")[1]).toList())
                .containsExactly("1", "2", "3");
    }
}
