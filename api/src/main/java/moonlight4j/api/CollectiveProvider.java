package moonlight4j.api;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * A collective engine, found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/moonlight4j.api.CollectiveProvider}; see {@link Collectives} for the lookup.
 */
public interface CollectiveProvider {

    /** The name users type after {@code --dist} ({@code local}, {@code mpi}, {@code nccl}). */
    String name();

    /**
     * Null when the engine can run here, otherwise a one-line reason saying what it needs (a JDK version, a native
     * library, a launcher). Must not throw.
     */
    String unavailableReason();

    /**
     * Runs {@code body} on every rank this process hosts and returns their results in rank order.
     * {@code local} starts {@code ranks} threads; a process-per-rank engine ({@code mpi}) runs its one rank and
     * takes the world size from its launcher ({@code ranks} must then be 0 or equal that size).
     * When any rank's body throws, the others fail within {@code timeout} and the first failure is rethrown
     * (wrapped in {@link CollectiveException} when it is not a runtime exception).
     */
    <T> List<T> launch(int ranks, Duration timeout, Function<Collective, T> body);
}
