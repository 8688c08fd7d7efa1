package moonlight4j.verify;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The public golden tokenizer file (FORMAT §3.11) passes completely: every id of every case, both decodings. */
class TokenizerGoldenTest {

    private static final Path GOLDEN = Path.of("..", "golden-data", "tokenizer__cl100k_moonlight_pattern.jsonl");

    @Test
    void publicGoldenFilePassesCompletely() throws Exception {
        TokenizerGolden.Result r = TokenizerGolden.check(GOLDEN);
        assertThat(r.firstMismatch()).as("first mismatch").isNull();
        assertThat(r.mismatches()).isZero();
        assertThat(r.cases()).as("cases in the file (FORMAT §6: 33 texts)").isEqualTo(33);
        assertThat(r.passed()).isTrue();
    }
}
