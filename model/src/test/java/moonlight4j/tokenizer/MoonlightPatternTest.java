package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.Arguments;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The pre-tokenization pattern (docs/tokenizer.md#pattern) cuts text as its eight alternatives say. Each expected split
 * below is worked out by hand from the alternatives (numbered 1–8 as in {@link MoonlightPattern}).
 */
class MoonlightPatternTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                // 4: digits in groups of at most three, left to right
                Arguments.of("123456789", List.of("123", "456", "789")),
                Arguments.of("12345", List.of("123", "45")),
                // 1: a Han run is one piece, separate from Latin letters (2 excludes Han from its classes)
                Arguments.of("月之暗面的Moonlight模型", List.of("月之暗面的", "Moonlight", "模型")),
                Arguments.of("中123BAR", List.of("中", "123", "BAR")),
                // 2: lower-case word with its leading space; contraction glued on, case-insensitively
                Arguments.of("Hello, world!", List.of("Hello", ",", " world", "!")),
                Arguments.of("don't you'RE", List.of("don't", " you'RE")),
                Arguments.of("they'll've", List.of("they'll", "'ve")),
                // (?i) folds by Unicode simple case folding in Rust: ſ (U+017F) matches s, so "'ſ" is a contraction
                Arguments.of("IT'S it'ſ", List.of("IT'S", " it'ſ")),
                // 2 splits camelCase before each capital that starts a lower-case tail
                Arguments.of("camelCaseX", List.of("camel", "Case", "X")),
                // 2 takes capitals then lower case: "HTTPS" + "erver" is one piece
                Arguments.of("HTTPServer", List.of("HTTPServer")),
                // 3: all capitals (2 needs at least one lower-case letter)
                Arguments.of("ALLCAPS WORDS", List.of("ALLCAPS", " WORDS")),
                // 2 with a title-case letter (Lt is in the "upper" class)
                Arguments.of("ǅemal", List.of("ǅemal")),
                // 5: punctuation runs with one optional leading space, newlines glued after
                Arguments.of("$$$ ((( ...", List.of("$$$", " (((", " ...")),
                Arguments.of("a;\n\nb", List.of("a", ";\n\n", "b")),
                // a non-letter prefix joins a word (2), but not a Han run: "-月" is 5 then 1
                Arguments.of("-月xBAR", List.of("-", "月", "x", "BAR")),
                // 6: whitespace ending in newlines
                Arguments.of("line1\r\nline2", List.of("line", "1", "\r\n", "line", "2")),
                Arguments.of("a  \n b", List.of("a", "  \n", " b")),
                // 7: a space run leaves its last space for the next word; 8 / 7 at the very end
                Arguments.of("a   b", List.of("a", "  ", " b")),
                Arguments.of("   leading", List.of("  ", " leading")),
                Arguments.of("trailing   ", List.of("trailing", "   ")),
                // \s is Unicode White_Space: U+3000 (ideographic space) is whitespace, U+200B is not
                Arguments.of("a\u3000\u3000b", List.of("a", "\u3000", "\u3000b")),
                // U+200B (format char) is not whitespace: it is the optional non-letter prefix of 2
                Arguments.of("a\u200bb", List.of("a", "\u200bb")));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void splitsAsTheAlternativesSay(String text, List<String> expected) {
        assertThat(MoonlightPattern.split(text)).isEqualTo(expected);
    }

    @Test
    void javaSpellingDiffersOnlyInTheHanProperty() {
        assertThat(MoonlightPattern.JAVA_PAT_STR.replace("\\p{IsHan}", "\\p{Han}"))
                .isEqualTo(MoonlightPattern.PYTHON_PAT_STR);
        assertThat(MoonlightPattern.PYTHON_ALTERNATIVES).hasSize(8);
    }

    @Test
    void everyCharacterLandsInExactlyOnePiece() {
        String text = "Ünïcödé àccents, naïve café 🙂🚀 ∑∫ 中文\t\r\n  x";
        assertThat(String.join("", MoonlightPattern.split(text))).isEqualTo(text);
    }
}
