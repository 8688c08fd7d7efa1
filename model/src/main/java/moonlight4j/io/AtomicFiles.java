package moonlight4j.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/** Write-then-rename, so that readers see either the old file (or directory) or the complete new one. */
public final class AtomicFiles {

    /** Produces the new content at the temporary path it is given. */
    interface Writer {
        void write(Path tmp) throws IOException;
    }

    private AtomicFiles() {
    }

    /**
     * Runs {@code writer} on a fresh temporary file next to {@code target}, then renames it over {@code target}
     * atomically. If the writer fails the temporary file is deleted and {@code target} is untouched.
     */
    static void replace(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            copyPermissions(abs, tmp);
            writer.write(tmp);
            moveAtomic(tmp, abs);
        } catch (Throwable e) {
            deleteQuietly(tmp, e);
            throw e;
        }
        syncDirectory(dir);
    }

    /**
     * Runs {@code writer} on a fresh temporary directory next to {@code target}, then puts it in place: with one
     * rename when {@code target} does not exist; otherwise the old directory is first renamed aside, the new one
     * renamed in, and the old one deleted. A crash between those two renames leaves both complete directories
     * ({@code .<name>.old-*} and {@code .<name>.new-*}) and no half-written {@code target}.
     */
    static void replaceDirectory(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".new-");
        try {
            if (Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            writer.write(tmp);
            for (Path p : list(tmp)) syncFile(p);
            syncDirectory(tmp);
        } catch (Throwable e) {
            deleteTree(tmp, e);
            throw e;
        }
        if (Files.exists(abs)) {
            if (!Files.isDirectory(abs)) {
                deleteTree(tmp, null);
                throw new IOException(abs + ": exists and is not a directory, refusing to replace it");
            }
            Path old = parent.resolve(tmp.getFileName().toString().replace(".new-", ".old-"));
            moveAtomic(abs, old);
            moveAtomic(tmp, abs);
            syncDirectory(parent);
            deleteTree(old, null);
        } else {
            moveAtomic(tmp, abs);
        }
        syncDirectory(parent);
    }

    /** Temporary files are created rw-------; give the new file the old file's permissions, or rw-r--r--. */
    private static void copyPermissions(Path from, Path to) throws IOException {
        if (!Files.getFileStore(to).supportsFileAttributeView(PosixFileAttributeView.class)) return;
        Set<PosixFilePermission> perms = Files.exists(from)
                ? Files.getPosixFilePermissions(from)
                : PosixFilePermissions.fromString("rw-r--r--");
        Files.setPosixFilePermissions(to, perms);
    }

    private static void moveAtomic(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically: " + e.getMessage(), e);
        }
    }

    private static java.util.List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    /** Forces a regular file's contents to disk (nothing for anything else). */
    public static void syncFile(Path p) throws IOException {
        if (!Files.isRegularFile(p)) return;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** fsync of a directory makes a rename durable on Linux; some platforms cannot open a directory, then skip. */
    public static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported on this platform: the rename is still atomic, only its durability is weaker
        }
    }

    private static void deleteQuietly(Path p, Throwable primary) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }

    static void deleteTree(Path root, Throwable primary) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            if (primary == null) throw e;
            primary.addSuppressed(e);
        }
    }
}
