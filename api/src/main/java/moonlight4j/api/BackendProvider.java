package moonlight4j.api;

/**
 * A backend implementation, found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/moonlight4j.api.BackendProvider}. See {@link Backends} for how one is chosen.
 */
public interface BackendProvider {

    /** The name users type after {@code --backend} (e.g. {@code cpu}, {@code nd4j}). */
    String name();

    /** Higher wins when no backend is named; the oracle {@code cpu} has priority 0. */
    int priority();

    /**
     * Null when the backend can run here (its native parts load), otherwise a one-line reason. Must not throw
     * and must not leave half-initialised native state behind.
     */
    String unavailableReason();

    /** Creates (or returns the shared) backend instance. Only called when {@link #unavailableReason()} is null. */
    Backend create();
}
