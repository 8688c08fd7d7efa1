package moonlight4j.verify;

import java.nio.file.Path;
import java.util.List;

/**
 * A runner for a JSON Lines case file ({@code tokenizer__*.jsonl}, golden-data/FORMAT.md §3.11): exact comparisons, so
 * it returns the mismatches it found (empty = pass).
 */
public interface LinesCaseRunner {

    String kind();

    List<String> mismatches(Path file) throws Exception;
}
