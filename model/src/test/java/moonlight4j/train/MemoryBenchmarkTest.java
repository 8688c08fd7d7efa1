package moonlight4j.train;

import moonlight4j.api.Backends;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench memory}'s report: a line per sampled step and a verdict that names the figures it compared. */
class MemoryBenchmarkTest {

    @Test
    void printsSampledStepsAndAVerdictWithResidentMemoryAndLiveTensors() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        MemoryBenchmark.run(Backends.get("cpu"), "tiny", 2, 16, 4, new PrintStream(buf, true, StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("bench memory tiny 2x16 on cpu: 4 Muon steps");
        assertThat(out.lines().filter(l -> l.startsWith("step ")).count()).isEqualTo(4);   // every step of 4
        assertThat(out).containsPattern("memory (flat|NOT flat): outside the heap [0-9,]+ → [0-9,]+ MiB \\([+-][0-9.]+%\\) "
                + "from step 1 to 4 \\(resident [0-9,]+ → [0-9,]+ MiB\\); live heap [0-9,]+ → [0-9,]+ MiB; live tensors "
                + "[0-9,]+ → [0-9,]+");
    }

    @Test
    void residentMemoryIsReadOnLinux() {
        if (System.getProperty("os.name").toLowerCase().contains("linux")) {
            assertThat(MemoryBenchmark.residentBytes()).isGreaterThan(1 << 20);
        }
    }

    @Test
    void theHeapsResidentPagesAreFoundAndAreAPartOfResidentMemory() {
        if (!System.getProperty("os.name").toLowerCase().contains("linux")) return;
        long[] split = MemoryBenchmark.residentSplit(Runtime.getRuntime().maxMemory());
        assertThat(split).isNotNull();
        assertThat(split[1]).as("heap pages").isGreaterThan(0).isLessThan(split[0]);
        assertThat(MemoryBenchmark.residentSplit(12345L << 20)).as("no mapping run spans 12,345 MiB").isNull();
    }
}
