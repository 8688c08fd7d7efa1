package moonlight4j.verify;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Golden kind {@code tokenizer} (golden-data/FORMAT.md §3.11): every id of every text must match exactly. */
final class TokenizerRunner implements LinesCaseRunner {

    @Override
    public String kind() {
        return "tokenizer";
    }

    @Override
    public List<String> mismatches(Path file) throws IOException {
        return TokenizerGolden.mismatches(file);
    }
}
