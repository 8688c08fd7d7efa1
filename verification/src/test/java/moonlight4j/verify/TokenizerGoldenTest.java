package moonlight4j.verify;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public golden tokenizer file (golden-data/FORMAT.md §3.11) passes completely: every id of every case, both decodings. */
class TokenizerGoldenTest {

    private static final Path GOLDEN = Path.of("..", "golden-data", "tokenizer__cl100k_moonlight_pattern.jsonl");

    @Test
    void publicGoldenFilePassesCompletely() throws Exception {
        TokenizerGolden.Result r = TokenizerGolden.check(GOLDEN);
        assertThat(r.firstMismatch()).as("first mismatch").isNull();
        assertThat(r.mismatches()).isZero();
        assertThat(r.cases()).as("cases in the file (golden-data/FORMAT.md §6: 33 texts)").isEqualTo(33);
        assertThat(r.passed()).isTrue();
        assertThat(TokenizerGolden.mismatches(GOLDEN)).isEmpty();
    }

    @Test
    void aChangedIdIsReportedWithItsCaseAndPosition(@TempDir Path dir) throws Exception {
        // a copy of the golden file whose first case says 17 where tiktoken gave 16 ("1+1=2, 1+2=" starts [16, 10, …])
        List<String> lines = Files.readAllLines(GOLDEN, StandardCharsets.UTF_8);
        lines.set(1, lines.get(1).replace("\"ids_allowed_special\":[16,", "\"ids_allowed_special\":[17,"));
        lines.set(0, lines.get(0).replace("\"vocab_dir\": \"tokenizer\"",
                "\"vocab_dir\": " + com.fasterxml.jackson.databind.node.TextNode.valueOf(
                        GOLDEN.toAbsolutePath().getParent().resolve("tokenizer").toString())));
        Path copy = dir.resolve("tokenizer__changed.jsonl");
        Files.write(copy, lines, StandardCharsets.UTF_8);
        TokenizerGolden.Result r = TokenizerGolden.check(copy);
        assertThat(r.cases()).isEqualTo(33);
        // the encoding differs, and decoding the changed list no longer gives the text back
        assertThat(r.mismatches()).isEqualTo(2);
        assertThat(r.passed()).isFalse();
        assertThat(r.firstMismatch()).contains("tokenizer__changed.jsonl:2").contains("encode (allowed_special=all)")
                .contains("from position 0");
        assertThat(TokenizerGolden.mismatches(copy)).hasSize(2);
    }
}
