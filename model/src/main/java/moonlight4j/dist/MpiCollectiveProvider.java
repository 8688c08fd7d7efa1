package moonlight4j.dist;

import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.CollectiveProvider;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * {@code --dist mpi}: one rank per process, launched by {@code mpirun -np N ./moonlight … --dist mpi}; the world
 * size and rank come from Open MPI. Needs JDK 22+ and {@code libmpi.so.40}
 * ({@code apt-get install openmpi-bin libopenmpi-dev}); {@link #unavailableReason()} says which is missing.
 * A rank whose body throws prints the error and leaves without {@code MPI_Finalize}, so {@code mpirun} ends the
 * other ranks; a hung peer makes the others abort after the timeout (see the JDK 22+ {@code MpiCollective}).
 */
public final class MpiCollectiveProvider implements CollectiveProvider {

    @Override
    public String name() {
        return "mpi";
    }

    @Override
    public String unavailableReason() {
        try {
            return MpiBinding.unavailableReason();
        } catch (RuntimeException | LinkageError e) {
            return "the MPI binding failed to load: " + e;
        }
    }

    @Override
    public <T> List<T> launch(int ranks, Duration timeout, Function<Collective, T> body) {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("--dist mpi cannot run here: " + why);
        Collective c = MpiBinding.open(timeout);
        if (ranks != 0 && ranks != c.worldSize()) {
            String msg = "--ranks " + ranks + " but mpirun started " + c.worldSize() + " processes; with --dist mpi the"
                    + " world size comes from mpirun -np (omit --ranks or make them equal)";
            System.err.println("mpi rank " + c.rank() + ": " + msg);
            throw new IllegalArgumentException(msg);
        }
        T result;
        try {
            result = body.apply(c);
        } catch (RuntimeException | Error e) {
            System.err.println("mpi rank " + c.rank() + " of " + c.worldSize() + " failed: " + e);
            throw e;                                  // no MPI_Finalize: mpirun ends the other ranks
        } catch (Exception e) {
            throw new CollectiveException("mpi rank " + c.rank() + " failed: " + e, e);
        }
        c.close();                                    // MPI_Finalize
        List<T> out = new java.util.ArrayList<>();    // the result may be null (a rank with nothing to report)
        out.add(result);
        return out;
    }
}
