package moonlight4j.dist;

import moonlight4j.api.Collectives;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@code mpi} engine across 2 processes: {@code mpirun -np 2 java … MpiCheckMain} (every collective, then
 * Distributed Muon equal to single-process Muon bit-for-bit) and a hung rank ending the job within the timeout.
 * Needs this test JVM to be JDK 22+ (the build then compiled the FFM binding) and {@code mpirun} on the PATH;
 * otherwise each test prints {@code not run: <reason>} and is reported as skipped, never as passed.
 */
class MpiEngineTest {

    private static final Path MR_CLASSES = Path.of("target/classes/META-INF/versions/22");

    @Test
    void twoProcessesAgreeWithOneProcessBitForBit(@org.junit.jupiter.api.io.TempDir Path checkpoints) throws Exception {
        requireMpi();
        Run run = mpirun(2, 180, "--checkpoints", checkpoints.toString());
        assertThat(run.exit).as(run.output).isZero();
        // 25 collective + Distributed Muon checks, then the tiny model's loss curve and 49 parameter tensors, then
        // the checkpoint: its shard, the resumed loss curve and 49 parameter tensors.
        assertThat(run.output).contains("mpi rank 0: 126/126 checks passed", "mpi rank 1: 126/126 checks passed")
                .doesNotContain("FAIL");
        assertThat(checkpoints.resolve("step-000002/optimizer-rank-00001-of-00002.safetensors")).isRegularFile();
    }

    @Test
    void hungRankEndsTheJobWithinTheTimeout() throws Exception {
        requireMpi();
        long t0 = System.nanoTime();
        Run run = mpirun(2, 120, "--hang-rank-1");
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        assertThat(run.exit).as(run.output).isNotZero();
        assertThat(run.output).contains("mpi rank 0 of 2: allReduce(F32 3, SUM) (collective #1) timed out after 3000 ms");
        // Timeout 3 s + JVM start-up and mpirun's teardown (measured 5 s in all on 2 cores).
        assertThat(seconds).isLessThan(60);
    }

    @Test
    void deadRankEndsTheJob() throws Exception {
        requireMpi();
        long t0 = System.nanoTime();
        Run run = mpirun(2, 120, "--die-rank-1");
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        assertThat(run.exit).as(run.output).isNotZero();
        assertThat(run.output).contains("mpi rank 1 of 2 failed: java.lang.IllegalStateException: rank 1 died on purpose");
        // mpirun ends rank 0 when rank 1 exits (measured 2 s), well before rank 0's 60 s collective timeout.
        assertThat(seconds).isLessThan(30);
    }

    @Test
    void mpiOutsideMpirunOrOnJdk17SaysWhatItNeeds() {
        // Surefire puts target/classes (not a multi-release jar) on the class path, so on JDK 22+ this JVM sees the
        // JDK 17 stub, which says the binding is missing; MpiCheckMain's class path puts versions/22 first instead.
        String expected = Runtime.version().feature() < 22 ? "JDK 22+" : "mpi-ffm profile";
        assertThatThrownBy(() -> Collectives.get("mpi")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--dist mpi cannot run here").hasMessageContaining(expected);
    }

    private static void requireMpi() {
        String reason = null;
        if (Runtime.version().feature() < 22) {
            reason = "the mpi engine needs JDK 22+ and this test JVM is Java " + Runtime.version()
                    + " (run: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -pl api,model install -DskipTests && "
                    + "JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -pl model test -Dtest=MpiEngineTest)";
        } else if (!Files.isDirectory(MR_CLASSES)) {
            reason = "no " + MR_CLASSES + " (the mpi-ffm profile did not compile the FFM binding)";
        } else if (which("mpirun") == null) {
            reason = "mpirun is not on the PATH (apt-get install openmpi-bin libopenmpi-dev)";
        }
        if (reason != null) {
            System.out.println("not run: " + reason);
            Assumptions.abort("not run: " + reason);
        }
    }

    private record Run(int exit, String output) {
    }

    private static Run mpirun(int np, int timeoutSeconds, String... args) throws IOException, InterruptedException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of("mpirun", "--allow-run-as-root", "--oversubscribe", "-np",
                String.valueOf(np), java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", MR_CLASSES.toAbsolutePath() + File.pathSeparator + cp, MpiCheckMain.class.getName()));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("mpirun", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("mpirun did not finish in " + timeoutSeconds + " s: " + Files.readString(log));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println(out);
        Files.delete(log);
        return new Run(p.exitValue(), out);
    }

    private static Path which(String exe) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path f = Path.of(dir, exe);
            if (Files.isExecutable(f)) return f;
        }
        return null;
    }
}
