package moonlight4j.api;

/**
 * A collective that could not complete: a peer rank failed, hung past the timeout, or called a different
 * collective. The message names the engine, the rank, the collective and the cause.
 */
public class CollectiveException extends RuntimeException {

    public CollectiveException(String message) {
        super(message);
    }

    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
