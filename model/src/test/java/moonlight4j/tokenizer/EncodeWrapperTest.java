package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Moonlight's encode wrapper (docs/tokenizer.md#encode-windows) as seen through {@link Tokenizer#encode}: tokens and
 * special-token matches never cross a window or run cut, and very long inputs go through.
 */
class EncodeWrapperTest {

    private final Tokenizer t = TestVocabularies.golden();

    @Test
    void aSpecialTokenCutByTheRunLimitIsNotRecognised() {
        int imEnd = t.specialTokenId(SpecialTokens.IM_END);
        // 24,990 + 10 = 25,000 non-space characters: one run, the special token is whole
        String fits = "x".repeat(24_990) + SpecialTokens.IM_END;
        assertThat(t.encode(fits)).contains(imEnd);
        // 24,995 + 10: the run is cut after 25,000 characters, inside "<|im_end|>"
        String cut = "x".repeat(24_995) + SpecialTokens.IM_END;
        assertThat(t.encode(cut)).doesNotContain(imEnd);
        assertThat(t.decode(t.encode(cut))).isEqualTo(cut);
    }

    @Test
    void aSpecialTokenCutByTheWindowLimitIsNotRecognised() {
        int imEnd = t.specialTokenId(SpecialTokens.IM_END);
        String words = "abc ".repeat(99_998); // 399,992 characters, runs of 3 and 1
        String fits = words + "ab" + SpecialTokens.IM_END + " tail"; // the special ends at 400,004: crosses 400,000
        String before = words.substring(0, 399_980) + SpecialTokens.IM_END + " tail"; // ends at 399,990
        assertThat(t.encode(before)).contains(imEnd);
        assertThat(t.encode(fits)).doesNotContain(imEnd);
        assertThat(t.decode(t.encode(fits))).isEqualTo(fits);
    }

    @Test
    void aLongWhitespaceRunIsEncodedIn25000CharacterPieces() {
        String spaces = " ".repeat(60_000);
        int[] expected = TokenizerPropertiesTest.concat(t.encode(" ".repeat(25_000)), t.encode(" ".repeat(25_000)),
                t.encode(" ".repeat(10_000)));
        assertThat(t.encode(spaces)).isEqualTo(expected);
        assertThat(t.decode(t.encode(spaces))).isEqualTo(spaces);
    }

    @Test
    void encodeIsTheConcatenationOverTheWindowPieces() {
        String text = millionCharacterText();
        int[] whole = t.encode(text);
        int[] byPiece = EncodeWindows.split(text).stream().map(t::encode).reduce(new int[0],
                TokenizerPropertiesTest::concat);
        assertThat(whole).isEqualTo(byPiece);
    }

    @Test
    void aMillionCharacterInputEncodesAndDecodesBack() {
        String text = millionCharacterText();
        assertThat(text.length()).isGreaterThanOrEqualTo(1_000_000);
        int[] ids = t.encode(text);
        assertThat(t.decode(ids)).isEqualTo(text);
        int[] ordinary = t.encodeOrdinary(text);
        assertThat(t.decode(ordinary)).isEqualTo(text);
        assertThat(Arrays.stream(ordinary).noneMatch(t::isSpecial)).isTrue();
        assertThat(Arrays.stream(ids).anyMatch(t::isSpecial)).isTrue();
    }

    /** Words, CJK, digits, specials, and runs longer than 25,000 of both kinds; fixed seed. */
    private static String millionCharacterText() {
        var r = new Random(42);
        String[] words = {"the", "Moonlight", "月之暗面", "1234567", "naïve", "😀", "\n", "  ", SpecialTokens.IM_END,
                "HTTPServer", "don't", "$$$", "\t"};
        var sb = new StringBuilder(1_100_000);
        sb.append("a".repeat(60_000)).append(" ".repeat(30_000));
        while (sb.length() < 1_000_000) {
            sb.append(words[r.nextInt(words.length)]).append(r.nextInt(4) == 0 ? "" : " ");
        }
        return sb.toString();
    }
}
