package moonlight4j.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Vocabularies shared by the tests: the golden 100,256-rank table (golden-data/FORMAT.md §3.11) and the byte vocabulary. */
final class TestVocabularies {

    /** golden-data/tokenizer: cl100k_base ranks under Moonlight's special-token layout (numBase 100,256). */
    static final Path GOLDEN_DIR = Path.of("..", "golden-data", "tokenizer");

    private static Tokenizer golden;

    private TestVocabularies() {}

    static synchronized Tokenizer golden() {
        if (golden == null) {
            try {
                golden = TiktokenLoader.load(GOLDEN_DIR);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return golden;
    }
}
