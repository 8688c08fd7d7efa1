package moonlight4j.cli;

import moonlight4j.train.IoErrors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The check, before any work, that an output directory can be written: a run must not train and then fail to save. */
final class OutputDir {

    private OutputDir() {
    }

    /**
     * Creates {@code dir} (and its parents) if needed and writes and deletes a file in it.
     *
     * @param flag the option that named it, for the message ({@code --out})
     * @throws IllegalArgumentException naming the flag, the path, why it failed and what was expected
     */
    static void checkWritable(String flag, Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(flag + " " + dir + " exists and is not a directory; expected a "
                    + "directory to write into");
        }
        try {
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".write-check.", ".tmp"));
        } catch (IOException e) {
            throw new IllegalArgumentException(flag + " " + dir + ": cannot write there (" + IoErrors.describe(e)
                    + "); expected a writable directory");
        }
    }
}
