package moonlight4j.reliability;

import moonlight4j.cli.CliRun;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static moonlight4j.reliability.TrainFixtures.run;
import static org.assertj.core.api.Assertions.assertThat;

/** Fine-tuning (`moonlight train --dataset FILE.jsonl`) under a diverging run and an output it cannot write. */
class SftReliabilityTest {

    @TempDir
    static Path tmp;
    static Path base, data;

    @BeforeAll
    static void setUp() throws IOException {
        base = TrainFixtures.chatModel(tmp);
        data = TrainFixtures.chat(tmp, 16);
    }

    /**
     * A learning rate that drives fine-tuning to NaN: the run exits non-zero naming the step, writes no model, and
     * the latest checkpoint is the finite one of the step before.
     */
    @Test
    void aDivergingFineTuningRunStopsWritesNoModelAndKeepsTheLastFiniteCheckpoint() throws IOException {
        Path out = tmp.resolve("diverged");
        CliRun.Result r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--init", base.toString(),
                "--lr", "1e3", "--batch", "2", "--save-every", "1", "--out", out.toString());
        assertThat(r.rc()).as(r.out() + r.err()).isEqualTo(2);
        assertThat(r.err()).containsPattern("error: step (\\d+): non-finite ");
        int failed = Integer.parseInt(r.err().replaceAll("(?s).*error: step (\\d+):.*", "$1"));
        assertThat(failed).as("some checkpoints were written before").isGreaterThan(1);
        assertThat(out.resolve("model.safetensors")).doesNotExist();
        Path checkpoints = out.resolveSibling("diverged.checkpoints");
        String latest = Files.readString(checkpoints.resolve("latest")).trim();
        assertThat(latest).isEqualTo(String.format("step-%06d", failed - 1));
        assertThat(TrainFixtures.firstNonFiniteIn(checkpoints.resolve(latest).resolve("trained.safetensors"))).isNull();
        assertThat(TrainFixtures.firstNonFiniteIn(checkpoints.resolve(latest).resolve("optimizer.safetensors"))).isNull();
    }

    /** An output that cannot be written is refused before the data is even read, not after training. */
    @Test
    void anUnwritableOutputIsRefusedBeforeTraining() {
        for (String out : new String[]{"/proc/x", "/proc/sys/x"}) {
            CliRun.Result r = run("train", "--backend", "cpu", "--dataset", data.toString(), "--init",
                    base.toString(), "--lr", "1e-3", "--batch", "2", "--out", out);
            assertThat(r.rc()).as(r.err()).isEqualTo(2);
            assertThat(r.err()).contains("--out " + out).contains("cannot write there")
                    .contains("expected a writable directory");
            assertThat(r.out()).as("nothing read or trained").doesNotContain("SFT data");
        }
    }
}
