package moonlight4j.verify;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the repository's golden-data directory from the test's working directory (a module directory). */
final class GoldenDir {

    private GoldenDir() {
    }

    static Path find() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path g = p.resolve("golden-data");
            if (Files.isRegularFile(g.resolve("FORMAT.md"))) return g;
        }
        throw new IllegalStateException("golden-data/ not found above " + Path.of("").toAbsolutePath());
    }
}
