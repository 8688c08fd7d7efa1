package moonlight4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code moonlight} command line; {@code ./moonlight} at the repository root builds and runs it. */
@Command(name = "moonlight", mixinStandardHelpOptions = true, version = "moonlight4j 0.1.0",
        description = "Moonlight (Muon + DeepSeek-V3-style MoE) on the JVM.",
        subcommands = {
                BackendsCommand.class,
                VerifyCommand.class,
                BenchCommand.class,
                InspectCommand.class,
                TrainCommand.class,
                GenerateCommand.class,
                SftCommand.class,
        })
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            System.err.println("error: " + ex.getMessage());
            if (System.getenv("MOONLIGHT_DEBUG") != null) ex.printStackTrace();
            return 2;
        });
        if (args.length == 0) {
            cl.usage(System.out);
            return 0;
        }
        return cl.execute(args);
    }
}
