package moonlight4j.cli;

import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.Collectives;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * The {@code --dist ENGINE [--ranks N] [--dist-timeout S]} flags of data-parallel commands. Without {@code --dist}
 * the command runs as one process. {@code local} runs N ranks as threads of this JVM; {@code mpi} takes the world
 * size from {@code mpirun -np}.
 */
public final class DistOption {

    @Option(names = "--dist", paramLabel = "ENGINE", description = "data-parallel engine: local, mpi or nccl (default: none, one process)")
    String engine;

    @Option(names = "--ranks", paramLabel = "N", defaultValue = "0",
            description = "local: number of ranks (threads); nccl: number of GPUs (one thread each); mpi: must equal mpirun -np when given")
    int ranks;

    @Option(names = "--dist-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "a collective waiting longer than this for another rank fails (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    /** True when {@code --dist} was given. */
    public boolean enabled() {
        return engine != null;
    }

    /**
     * Runs {@code body} on every rank this process hosts (see {@link CollectiveProvider#launch}); announces the
     * engine and world size. Bad flags and an engine that cannot run here are errors before any rank starts.
     */
    public <T> List<T> launch(Function<Collective, T> body) {
        if (!enabled()) throw new IllegalStateException("--dist was not given");
        if (engine.equals("local") && ranks < 1) {
            throw new IllegalArgumentException("--dist local needs --ranks N (N ≥ 1), got " + ranks);
        }
        if (timeoutSeconds < 1) throw new IllegalArgumentException("--dist-timeout must be ≥ 1 s, got " + timeoutSeconds);
        CollectiveProvider p = Collectives.get(engine);
        return p.launch(ranks, Duration.ofSeconds(timeoutSeconds), c -> {
            if (c.rank() == 0) System.out.println("dist: " + c.engine() + ", " + c.worldSize() + " ranks");
            return body.apply(c);
        });
    }
}
