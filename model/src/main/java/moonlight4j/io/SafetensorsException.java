package moonlight4j.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or an HF checkpoint directory, or one of its JSON files) that breaks the format or cannot be
 * read: the message names the file, the tensor (where there is one) and what was expected.
 */
public final class SafetensorsException extends IOException {

    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "{@code file}: {@code what}". */
    static SafetensorsException of(Path file, String what) {
        return new SafetensorsException(file + ": " + what);
    }

    /** "{@code file}: tensor '{@code name}': {@code what}". */
    static SafetensorsException of(Path file, String tensor, String what) {
        return new SafetensorsException(file + ": tensor '" + tensor + "': " + what);
    }
}
