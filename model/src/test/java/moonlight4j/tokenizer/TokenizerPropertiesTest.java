package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** Properties of encode/decode on the golden 100k vocabulary and on the byte vocabulary (docs/tokenizer.md). */
class TokenizerPropertiesTest {

    private static final List<String> SPECIALS = List.of(SpecialTokens.BOS, SpecialTokens.EOS, SpecialTokens.IM_END,
            SpecialTokens.IM_USER, SpecialTokens.IM_ASSISTANT, SpecialTokens.IM_SYSTEM, SpecialTokens.IM_MIDDLE,
            SpecialTokens.reservedName(100_300), "<|im_", "[BO", "|>");

    /** Any Unicode scalar value (surrogate code points skipped). */
    private static Gen<String> anyCodePoint() {
        return integers().between(0, 0x10FFFF - 0x800)
                .map(i -> i >= 0xD800 ? i + 0x800 : i)
                .map(Character::toString);
    }

    /** Code points from the blocks text is made of: ASCII, Latin-1, Greek/Cyrillic, CJK, kana, emoji, spaces. */
    private static Gen<String> textyCodePoint() {
        return Generate.oneOf(integers().between(0x20, 0x7E), integers().between(0x00, 0x1F),
                        integers().between(0xA0, 0x24F), integers().between(0x370, 0x4FF),
                        integers().between(0x3000, 0x30FF), integers().between(0x4E00, 0x9FFF),
                        integers().between(0x1F300, 0x1F6FF), Generate.pick(List.of(0x20, 0x0A, 0x0D, 0x09, 0x3000)))
                .map(Character::toString);
    }

    /** Strings mixing arbitrary and text-like code points, special-token texts and fragments of them. */
    private static Gen<String> texts() {
        Gen<String> piece = textyCodePoint().mix(anyCodePoint(), 20).mix(Generate.pick(SPECIALS), 10);
        return lists().of(piece).ofSizeBetween(0, 40).map(l -> String.join("", l));
    }

    /** Strings with no special-token text in them (no '<' or '['). */
    private static Gen<String> plainTexts() {
        return lists().of(textyCodePoint().mix(anyCodePoint(), 20)).ofSizeBetween(0, 30)
                .map(l -> String.join("", l).replace('<', '(').replace('[', '('));
    }

    @Test
    void decodeOfEncodeIsTheIdentity() {
        Tokenizer t = TestVocabularies.golden();
        qt().forAll(texts()).check(s -> t.decode(t.encode(s)).equals(s) && t.decode(t.encodeOrdinary(s)).equals(s));
    }

    @Test
    void decodeOfEncodeIsTheIdentityOnTheByteVocabulary() {
        Tokenizer t = ByteVocabulary.create();
        qt().forAll(texts()).check(s -> t.decode(t.encode(s)).equals(s) && t.decode(t.encodeOrdinary(s)).equals(s));
    }

    @Test
    void byteVocabularyEncodesEachUtf8ByteAsItsOwnId() {
        Tokenizer t = ByteVocabulary.create();
        qt().forAll(texts()).check(s -> {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            int[] expected = IntStream.range(0, utf8.length).map(i -> utf8[i] & 0xFF).toArray();
            return Arrays.equals(t.encodeOrdinary(s), expected);
        });
    }

    @Test
    void specialTokensAreRecognisedOnlyWhenAllowed() {
        Tokenizer t = TestVocabularies.golden();
        Gen<String> special = Generate.pick(SPECIALS.subList(0, 8));
        qt().forAll(plainTexts(), special, plainTexts()).check((a, name, b) -> {
            int id = t.specialTokenId(name);
            // allowed: the special text becomes its id, and the text around it is encoded on its own
            int[] expected = concat(t.encode(a), new int[] {id}, t.encode(b));
            boolean allowedOk = Arrays.equals(t.encode(a + name + b), expected);
            // ordinary: no special id at all, and the text decodes back
            int[] ordinary = t.encodeOrdinary(a + name + b);
            boolean ordinaryOk = Arrays.stream(ordinary).noneMatch(t::isSpecial)
                    && t.decode(ordinary).equals(a + name + b);
            return allowedOk && ordinaryOk;
        });
    }

    @Test
    void withoutSpecialTextBothEncodingsAgreeAndStayBelowTheSpecialIds() {
        Tokenizer t = TestVocabularies.golden();
        qt().forAll(plainTexts()).check(s -> {
            int[] ids = t.encode(s);
            return Arrays.equals(ids, t.encodeOrdinary(s))
                    && Arrays.stream(ids).allMatch(id -> id >= 0 && id < t.numBaseTokens());
        });
    }

    @Test
    void encodingIsTheConcatenationOfTheEncodedPatternPieces() {
        // tiktoken never merges across pattern pieces: encoding piece by piece gives the same ids
        Tokenizer t = TestVocabularies.golden();
        qt().forAll(plainTexts()).check(s -> {
            int[] whole = t.encodeOrdinary(s);
            int[] byPiece = MoonlightPattern.split(s).stream().map(t::encodeOrdinary)
                    .reduce(new int[0], TokenizerPropertiesTest::concat);
            return Arrays.equals(whole, byPiece);
        });
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void specialTextInOrdinaryModeIsEncodedLikeOtherText() {
        Tokenizer t = TestVocabularies.golden();
        int[] ids = t.encodeOrdinary("<|im_end|>");
        assertThat(ids.length).isGreaterThan(1);
        assertThat(t.decode(ids)).isEqualTo("<|im_end|>");
        assertThat(t.encode("<|im_end|>")).containsExactly(t.specialTokenId(SpecialTokens.IM_END));
    }
}
