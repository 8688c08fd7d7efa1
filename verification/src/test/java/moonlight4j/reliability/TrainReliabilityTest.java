package moonlight4j.reliability;

import moonlight4j.cli.CliRun;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.train.ArithmeticExperiment;
import moonlight4j.train.TrainCheckpoint;
import moonlight4j.train.TrainOptions;
import moonlight4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static moonlight4j.reliability.TrainFixtures.BE;
import static moonlight4j.reliability.TrainFixtures.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Training (`moonlight train` on text) under a diverging run, a full disk and outputs it cannot write. */
class TrainReliabilityTest {

    /**
     * AdamW at lr 1e30 overflows the weights in an update whose loss and gradients were finite: the run must stop at
     * that step, naming the weight, and the latest checkpoint must be the previous, finite one.
     */
    @Test
    void aDivergingRunStopsAtTheStepWhoseUpdateOverflowedAndKeepsAFiniteCheckpoint(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        CliRun.Result r = run("train", "--backend", "cpu", "--dataset", TrainFixtures.text(dir).toString(),
                "--optimizer", "adamw", "--steps", "8", "--save-every", "1", "--lr", "1e30", "--seq-len", "16",
                "--batch", "2", "--out", out.toString());
        assertThat(r.rc()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).containsPattern("error: step (\\d+): non-finite weight \\S+ after the update");
        int failed = Integer.parseInt(r.err().replaceAll("(?s).*error: step (\\d+):.*", "$1"));
        Path checkpoints = out.resolve("adamw/checkpoints");
        String latest = Files.readString(checkpoints.resolve("latest")).trim();
        assertThat(latest).isEqualTo(String.format("step-%06d", failed - 1));
        assertThat(TrainFixtures.firstNonFinite(checkpoints.resolve(latest).resolve("model"))).isNull();
        assertThat(TrainFixtures.firstNonFiniteIn(checkpoints.resolve(latest).resolve("optimizer.safetensors"))).isNull();
        assertThat(out.resolve("model-adamw")).doesNotExist();
    }

    /** A write that fails midway (a full disk) names the checkpoint, leaves no partial directory, keeps `latest`. */
    @Test
    void aCheckpointWriteOnAFullDiskNamesTheCheckpointAndKeepsTheLatest(@TempDir Path dir) throws IOException {
        MoonlightConfig cfg = MoonlightConfig.fromJson(MoonlightConfig.preset("tiny").toJson()
                .put("vocab_size", ArithmeticExperiment.VOCAB), "tiny");
        TokenDataset data = TokenDataset.textFile(TrainFixtures.text(dir), 16);
        TrainOptions opt = new TrainOptions("muon", 1e-3, 0.1, 4, 2, 1, 1, 0, 1e-3, 7, 1);
        Parameters p = ArithmeticExperiment.init(BE, cfg, 7);
        Path checkpoints = dir.resolve("checkpoints");
        try (Trainer t = new Trainer(BE, cfg, p, data, opt)) {
            t.step();
            TrainCheckpoint.save(t, checkpoints, data.name(), TrainCheckpoint.SaveHook.NONE);
            t.step();
            TrainCheckpoint.SaveHook diskFull = part -> {
                if (part.equals("optimizer")) throw new IOException("No space left on device");
            };
            assertThatThrownBy(() -> TrainCheckpoint.save(t, checkpoints, data.name(), diskFull))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("checkpoint " + checkpoints.resolve("step-000002") + " not written")
                    .hasMessageContaining("No space left on device")
                    .hasMessageContaining("the previous checkpoint (if any) is still the latest");
        }
        assertThat(Files.readString(checkpoints.resolve("latest")).trim()).isEqualTo("step-000001");
        try (Stream<Path> s = Files.list(checkpoints)) {
            assertThat(s.map(x -> x.getFileName().toString())).containsExactlyInAnyOrder("latest", "step-000001");
        }
    }

    /** --out that cannot be created, an existing directory that cannot be written, a file: named before any work. */
    @Test
    void anOutputThatCannotBeWrittenIsNamedWithWhatWasExpected(@TempDir Path dir) throws IOException {
        String data = TrainFixtures.text(dir).toString();
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Object[][] cases = {
                {"/proc/x", "--out /proc/x: cannot write there (/proc/x: "},
                {"/proc", "--out /proc: cannot write there (/proc/"},
                {file.toString(), "--out " + file + " exists and is not a directory; expected a directory"},
                {file.resolve("sub").toString(), "--out " + file.resolve("sub") + ": cannot write there ("},
        };
        for (Object[] c : cases) {
            CliRun.Result r = run("train", "--backend", "cpu", "--dataset", data, "--steps", "1", "--seq-len", "16",
                    "--batch", "2", "--out", (String) c[0]);
            assertThat(r.rc()).as(r.err()).isEqualTo(2);
            assertThat(r.err()).as((String) c[0]).contains((String) c[1]);
            if (!((String) c[1]).contains("exists and is not")) assertThat(r.err()).contains("expected a writable directory");
            assertThat(r.out()).as("nothing trained").doesNotContain("model:");
        }
    }

    /** A directory given as --dataset is called a directory, with the kind of file expected. */
    @Test
    void aDirectoryAsDatasetSaysWhatWasExpected(@TempDir Path dir) throws IOException {
        Path text = Files.createDirectories(dir.resolve("corpus.txt"));
        CliRun.Result r = run("train", "--backend", "cpu", "--dataset", text.toString(), "--steps", "1",
                "--out", dir.resolve("run").toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains("--dataset " + text + " is a directory; expected a UTF-8 text file");
    }
}
