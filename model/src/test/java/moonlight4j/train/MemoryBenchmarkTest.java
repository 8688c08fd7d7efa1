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

    @Test
    void aSettledReadingWaitsForTheCollectorToHandTheShrunkHeapBack() {
        if (!System.getProperty("os.name").toLowerCase().contains("linux")) return;
        long max = Runtime.getRuntime().maxMemory();
        byte[][] garbage = new byte[64][];
        for (int i = 0; i < garbage.length; i++) {
            garbage[i] = new byte[8 << 20];                                 // 512 MiB touched, then dropped
            java.util.Arrays.fill(garbage[i], (byte) 1);
        }
        long[] full = MemoryBenchmark.residentSplit(max);
        garbage = null;
        System.gc();
        long[] settled = MemoryBenchmark.settledSplit(max);
        assertThat(settled).isNotNull();
        assertThat(settled[1]).as("heap pages after the collector shrank the heap, of %,d before", full[1])
                .isLessThan(full[1] - (256L << 20));
        assertThat(MemoryBenchmark.settledSplit(12345L << 20)).isNull();
    }
}
