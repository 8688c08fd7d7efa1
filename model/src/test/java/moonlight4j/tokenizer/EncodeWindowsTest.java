package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** Step 1 of Moonlight's encode (docs/tokenizer.md#encode-windows): 400,000-character windows, runs of at most 25,000. */
class EncodeWindowsTest {

    @Test
    void runsLongerThanTheLimitAreCutAsThePythonLoopDoes() {
        // traced through _split_whitespaces_or_nonwhitespaces(s, 2): the counter passes 2 at i = 2, 5, 8
        assertThat(EncodeWindows.split("aaa   bbb", 100, 2)).containsExactly("aa", "a  ", " bb", "b");
        // runs of at most 2 are never cut
        assertThat(EncodeWindows.split("aa  bb cc", 100, 2)).containsExactly("aa  bb cc");
        assertThat(EncodeWindows.split("aaaaa", 100, 2)).containsExactly("aa", "aa", "a");
    }

    @Test
    void windowsAreCutEveryNCodePointsNotCharsOfUtf16() {
        assertThat(EncodeWindows.split("abcdefg", 3, 100)).containsExactly("abc", "def", "g");
        // 😀 is two UTF-16 chars but one Python character
        assertThat(EncodeWindows.split("😀😀😀", 2, 100)).containsExactly("😀😀", "😀");
        assertThat(EncodeWindows.split("😀😀😀😀😀", 100, 2)).containsExactly("😀😀", "😀😀", "😀");
    }

    @Test
    void runsRestartInEachWindow() {
        // window 4 then runs of 3: "aaaa" -> "aaa","a"; next window "aaaa" -> "aaa","a"
        assertThat(EncodeWindows.split("aaaaaaaa", 4, 3)).containsExactly("aaa", "a", "aaa", "a");
    }

    @Test
    void emptyTextHasNoSubstrings() {
        assertThat(EncodeWindows.split("")).isEmpty();
    }

    @Test
    void whitespaceIsPythonIsspace() {
        // in str.isspace(): no-break spaces (U+00A0, U+202F) and U+001C..U+001F; not U+200B or U+180E
        for (int cp : new int[] {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A,
                0x2028, 0x2029, 0x202F, 0x205F, 0x3000}) {
            assertThat(EncodeWindows.isPythonSpace(cp)).as("U+%04X", cp).isTrue();
        }
        for (int cp : new int[] {0x00, 0x08, 0x0E, 0x1B, 0x21, 0xA1, 0x180E, 0x200B, 0x2060, 0xFEFF, 'a', '中'}) {
            assertThat(EncodeWindows.isPythonSpace(cp)).as("U+%04X", cp).isFalse();
        }
        // a run of no-break spaces is one whitespace run
        assertThat(EncodeWindows.split("\u00a0\u00a0\u00a0x", 100, 2)).containsExactly("\u00a0\u00a0", "\u00a0x");
    }

    @Test
    void badLimitsAreRejected() {
        assertThatThrownBy(() -> EncodeWindows.split("x", 0, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Texts over a small alphabet with long runs: letters, ASCII and no-break spaces, an astral character. */
    private static Gen<String> runnyTexts() {
        Gen<String> piece = Generate.pick(List.of("a", "b", " ", "\u00a0", "\n", "😀", "中"))
                .zip(integers().between(1, 12), (s, n) -> s.repeat(n));
        return lists().of(piece).ofSizeBetween(0, 12).map(l -> String.join("", l));
    }

    @Test
    void concatenationGivesTheTextBackAndNoPieceBreaksTheLimits() {
        qt().forAll(runnyTexts(), integers().between(1, 20), integers().between(1, 8)).check((text, window, max) -> {
            List<String> parts = EncodeWindows.split(text, window, max);
            if (!String.join("", parts).equals(text)) return false;
            for (String p : parts) {
                if (p.isEmpty() || p.codePointCount(0, p.length()) > window || longestRun(p) > max) return false;
            }
            return true;
        });
    }

    /** Longest run of consecutive Python-whitespace or non-whitespace code points. */
    private static int longestRun(String s) {
        int best = 0;
        int run = 0;
        Boolean prev = null;
        for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
            boolean space = EncodeWindows.isPythonSpace(s.codePointAt(i));
            run = (prev != null && prev == space) ? run + 1 : 1;
            prev = space;
            best = Math.max(best, run);
        }
        return best;
    }

    @Test
    void releasedLimits() {
        assertThat(EncodeWindows.MAX_ENCODE_CHARS).isEqualTo(400_000);
        assertThat(EncodeWindows.MAX_CONSECUTIVE_CHARS).isEqualTo(25_000);
        String spaces = " ".repeat(60_000) + "x";
        assertThat(EncodeWindows.split(spaces).stream().map(String::length).toList())
                .containsExactly(25_000, 25_000, 10_001);
    }
}
