package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading {@code tiktoken.model} + {@code tokenizer_config.json}: good files load, bad lines name their line. */
class TiktokenLoaderTest {

    @TempDir
    Path dir;

    /** The 256 single-byte lines "base64(b) b", each ending in {@code eol}. */
    private static String byteLines(String eol) {
        var sb = new StringBuilder();
        for (int b = 0; b < 256; b++) {
            sb.append(Base64.getEncoder().encodeToString(new byte[] {(byte) b})).append(' ').append(b).append(eol);
        }
        return sb.toString();
    }

    private Path ranks(String content) throws IOException {
        Path f = dir.resolve("tiktoken.model");
        Files.writeString(f, content, StandardCharsets.UTF_8);
        return f;
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsRanksWithAnyLineEndingAndSkipsBlankLines() throws IOException {
        byte[][] lf = TiktokenLoader.readRanks(ranks(byteLines("\n") + b64("ab") + " 256\n"));
        byte[][] crlf = TiktokenLoader.readRanks(ranks("\r\n" + byteLines("\r\n") + "\r\n" + b64("ab") + " 256"));
        assertThat(lf.length).isEqualTo(257);
        assertThat(crlf).isDeepEqualTo(lf);
        assertThat(new String(lf[256], StandardCharsets.UTF_8)).isEqualTo("ab");
    }

    @Test
    void ranksMayComeInAnyOrder() throws IOException {
        byte[][] r = TiktokenLoader.readRanks(ranks(b64("ab") + " 256\n" + byteLines("\n")));
        assertThat(new String(r[256], StandardCharsets.UTF_8)).isEqualTo("ab");
        assertThat(r[65]).containsExactly(65);
    }

    /** The error for a file of the 256 byte lines with {@code bad} as line 257. */
    private String errorFor(String bad) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(
                () -> TiktokenLoader.readRanks(ranks(byteLines("\n") + bad + "\n")));
        assertThat(t).isInstanceOf(IOException.class);
        return t.getMessage();
    }

    @Test
    void malformedLinesAreClearErrorsWithTheirLineNumber() {
        assertThat(errorFor(b64("ab"))).contains("tiktoken.model:257:").contains("expected 'base64(token) rank'")
                .contains("1 field");
        assertThat(errorFor(b64("ab") + " 256 extra")).contains(":257:").contains("3 field");
        assertThat(errorFor("!!notbase64 256")).contains(":257:").contains("not valid base64");
        assertThat(errorFor(b64("ab") + " x12")).contains(":257:").contains("rank \"x12\" is not a non-negative integer");
        assertThat(errorFor(b64("ab") + " -3")).contains(":257:").contains("not a non-negative integer");
        assertThat(errorFor(b64("ab") + " 99999999999")).contains(":257:").contains("too large");
        assertThat(errorFor(b64("ab") + " 7")).contains(":257:").contains("rank 7 already given on line 8");
        assertThat(errorFor(b64("A") + " 256")).contains(":257:").contains("already has a rank on line 66");
        assertThat(errorFor("= 256")).contains(":257:");
    }

    @Test
    void lineNumbersCountBlankLinesAndCrLf() {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(
                () -> TiktokenLoader.readRanks(ranks("\r\n\r\n" + b64("a") + " 0\r\nbroken\r\n")));
        assertThat(t).hasMessageContaining("tiktoken.model:4:");
    }

    @Test
    void gapsInRanksAndMissingBytesAreRejected() {
        assertThatThrownBy(() -> TiktokenLoader.readRanks(ranks(byteLines("\n") + b64("ab") + " 300\n")))
                .isInstanceOf(IOException.class).hasMessageContaining("rank 256 is missing");
        String without255 = byteLines("\n").replace(Base64.getEncoder().encodeToString(new byte[] {(byte) 255})
                + " 255\n", "");
        assertThatThrownBy(() -> TiktokenLoader.readRanks(ranks(without255 + b64("ab") + " 255\n")))
                .isInstanceOf(IOException.class).hasMessageContaining("single byte 0xff has no rank");
        assertThatThrownBy(() -> TiktokenLoader.readRanks(ranks("\n\n")))
                .isInstanceOf(IOException.class).hasMessageContaining("no ranks");
        assertThatThrownBy(() -> TiktokenLoader.readRanks(dir.resolve("absent.model")))
                .isInstanceOf(IOException.class).hasMessageContaining("does not exist");
    }

    @Test
    void configNamesSpecialsAndBosEos() throws IOException {
        ranks(byteLines("\n"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "[BOS]", "__type": "AddedToken"}, "eos_token": "<|im_end|>",
                 "added_tokens_decoder": {"256": {"content": "[BOS]"}, "258": {"content": "<|im_end|>"},
                                          "9999": {"content": "ignored: outside 256..513"}}}
                """);
        Tokenizer t = TiktokenLoader.load(dir);
        assertThat(t.bosId()).isEqualTo(256);
        assertThat(t.eosId()).isEqualTo(258);
        assertThat(t.specialTokens().name(257)).isEqualTo("<|reserved_token_257|>");
        assertThat(t.vocabSize()).isEqualTo(256 + 258);
        assertThat(t.specialTokens().contains("ignored: outside 256..513")).isFalse();
    }

    @Test
    void badConfigsAreClearErrors() throws IOException {
        ranks(byteLines("\n"));
        Path cfg = dir.resolve("tokenizer_config.json");
        assertThatThrownBy(() -> TiktokenLoader.load(dir)).hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("does not exist");
        Files.writeString(cfg, "{\"added_tokens_decoder\": {\"abc\": {\"content\": \"x\"}}}");
        assertThatThrownBy(() -> TiktokenLoader.load(dir)).hasMessageContaining("key \"abc\" is not an integer id");
        Files.writeString(cfg, "{\"added_tokens_decoder\": {\"256\": {}}}");
        assertThatThrownBy(() -> TiktokenLoader.load(dir)).hasMessageContaining("added_tokens_decoder[256].content");
        Files.writeString(cfg, "{\"added_tokens_decoder\": {\"256\": {\"content\": \"[X]\"}}}");
        assertThatThrownBy(() -> TiktokenLoader.load(dir)).hasMessageContaining("bos/eos token [BOS]");
        Files.writeString(cfg, "{\"added_tokens_decoder\": {\"256\": {\"content\": \"[BOS]\"}, "
                + "\"257\": {\"content\": \"[BOS]\"}}}");
        assertThatThrownBy(() -> TiktokenLoader.load(dir)).hasMessageContaining("[BOS] is given to both id 256");
        Files.writeString(cfg, "{not json");
        assertThatThrownBy(() -> TiktokenLoader.load(dir)).hasMessageContaining("not valid JSON");
    }

    @Test
    void writtenByteVocabularyLoadsBackIdentically() throws IOException {
        Path out = dir.resolve("model");
        ByteVocabulary.write(out);
        Tokenizer loaded = TiktokenLoader.load(out);
        Tokenizer original = ByteVocabulary.create();
        assertThat(loaded.vocabSize()).isEqualTo(original.vocabSize());
        assertThat(loaded.specialTokens().idByName()).isEqualTo(original.specialTokens().idByName());
        assertThat(loaded.bosId()).isEqualTo(original.bosId());
        assertThat(loaded.eosId()).isEqualTo(original.eosId());
        String text = "<|im_system|>system<|im_middle|>Hi 月 😀<|im_end|>";
        assertThat(loaded.encode(text)).isEqualTo(original.encode(text));
        // the rank file is tiktoken's format: "base64 rank" per line, rank = line index
        var lines = Files.readAllLines(out.resolve("tiktoken.model"));
        assertThat(lines).hasSize(256);
        assertThat(lines.get(65)).isEqualTo("QQ== 65");
        assertThat(TokenizerConfig.read(out.resolve("tokenizer_config.json")).chatTemplate()).isEmpty();
    }

    @Test
    void goldenTableRoundTripsThroughTheWriter() throws IOException {
        Tokenizer golden = TestVocabularies.golden();
        TiktokenWriter.write(golden, dir.resolve("copy"));
        assertThat(Files.readAllLines(dir.resolve("copy/tiktoken.model")))
                .isEqualTo(Files.readAllLines(TestVocabularies.GOLDEN_DIR.resolve("tiktoken.model")));
        Tokenizer copy = TiktokenLoader.load(dir.resolve("copy"));
        assertThat(copy.specialTokens().idByName()).isEqualTo(golden.specialTokens().idByName());
    }
}
