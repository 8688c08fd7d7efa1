package moonlight4j.dist;

import moonlight4j.api.Collective;

import java.time.Duration;

/**
 * Open MPI through Java's foreign-function API. This is the JDK 17 version: it only says what the {@code mpi} engine
 * needs. The real binding is {@code src/main/java22/moonlight4j/dist/MpiBinding.java}, compiled by the
 * {@code mpi-ffm} Maven profile (active when Maven runs on JDK 22+) into the model jar's
 * {@code META-INF/versions/22/}, where a JDK 22+ runtime picks it instead of this class.
 */
final class MpiBinding {

    private MpiBinding() {
    }

    static String unavailableReason() {
        int feature = Runtime.version().feature();
        if (feature < 22) {
            return "the mpi engine calls Open MPI through the foreign-function API of JDK 22+, but this is Java "
                    + Runtime.version() + " (" + System.getProperty("java.home") + "); run with a JDK 22+ (e.g. "
                    + "PATH=/usr/lib/jvm/temurin-25-jdk-amd64/bin:$PATH) and a build made with it";
        }
        return "this build has no MPI binding (it was compiled on a JDK older than 22, so the mpi-ffm profile was off);"
                + " rebuild with JDK 22+ (JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn package)";
    }

    static Collective open(Duration timeout) {
        throw new UnsupportedOperationException("--dist mpi: " + unavailableReason());
    }
}
