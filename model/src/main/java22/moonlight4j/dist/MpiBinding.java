package moonlight4j.dist;

import moonlight4j.api.Collective;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.time.Duration;

/**
 * Open MPI through Java's foreign-function API (JDK 22+ version, in {@code META-INF/versions/22} of the model jar).
 * Open MPI 4.x exposes its predefined handles as global objects ({@code MPI_COMM_WORLD == &ompi_mpi_comm_world},
 * likewise {@code ompi_mpi_float}, {@code ompi_mpi_op_sum}), so a handle is the address of that symbol.
 */
final class MpiBinding {

    /** The Open MPI 4.x shared library (Debian: {@code libopenmpi-dev} / {@code openmpi-bin}). */
    static final String LIBRARY = "libmpi.so.40";

    private MpiBinding() {
    }

    static String unavailableReason() {
        try {
            SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException e) {
            return "Open MPI was not found (" + LIBRARY + " did not load: " + e.getMessage() + "); install it with "
                    + "`apt-get install openmpi-bin libopenmpi-dev`";
        }
        if (System.getenv("OMPI_COMM_WORLD_SIZE") == null && System.getenv("PMIX_RANK") == null) {
            return "this process was not started by mpirun (no OMPI_COMM_WORLD_SIZE / PMIX_RANK in the environment); "
                    + "launch it as `mpirun -np N ./moonlight … --dist mpi`";
        }
        if (!MpiBinding.class.getModule().isNativeAccessEnabled()) {
            System.err.println("moonlight: note: add --enable-native-access=ALL-UNNAMED to the java command "
                    + "(MOONLIGHT_JAVA_OPTS) to silence the JDK's restricted-method warning");
        }
        return null;
    }

    static Collective open(Duration timeout) {
        return new MpiCollective(SymbolLookup.libraryLookup(LIBRARY, Arena.global()), timeout);
    }
}
