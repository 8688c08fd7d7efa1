package moonlight4j.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the command line in this JVM (the launcher's code path, {@link Main#run}) and captures what it prints. */
public final class CliRun {

    private CliRun() {
    }

    /** The exit code, stdout and stderr of one run. */
    public record Result(int rc, String out, String err) {

        /** {@code {rc, stdout, stderr}} as strings. */
        public String[] asArray() {
            return new String[]{String.valueOf(rc), out, err};
        }
    }

    /** {@code moonlight args...}; one run at a time, since System.out and System.err are swapped for the run. */
    public static synchronized Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Main.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
