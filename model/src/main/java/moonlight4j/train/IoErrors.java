package moonlight4j.train;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Messages for I/O failures that say which file and what went wrong: Java's file-system exceptions carry the path
 * as their whole message ({@code /proc/x}) and the reason apart, a full disk says only "No space left on device".
 */
public final class IoErrors {

    private IoErrors() {
    }

    /** {@code path[ -> other]: reason} for a file-system exception, else the message (or the exception's kind). */
    public static String describe(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) return describe(u.getCause());
        if (e instanceof FileSystemException fs) {
            String reason = fs.getReason() != null ? fs.getReason()
                    : fs instanceof AccessDeniedException ? "permission denied"
                    : fs instanceof NoSuchFileException ? "no such file or directory"
                    : fs instanceof FileAlreadyExistsException ? "already exists"
                    : fs instanceof NotDirectoryException ? "not a directory"
                    : fs instanceof DirectoryNotEmptyException ? "directory not empty"
                    : fs.getClass().getSimpleName();
            return fs.getFile() + (fs.getOtherFile() != null ? " -> " + fs.getOtherFile() : "") + ": " + reason;
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
