package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Decoding details, special-token lookup and the vocabulary layout of the golden table. */
class TokenizerTest {

    private final Tokenizer golden = TestVocabularies.golden();

    @Test
    void goldenVocabularyHasMoonlightsSpecialLayoutAfterItsRanks() {
        // golden-data/FORMAT.md §3.11: 100,256 ranks, 258 specials from there; offsets as Moonlight's 163,584…
        assertThat(golden.numBaseTokens()).isEqualTo(100_256);
        assertThat(golden.vocabSize()).isEqualTo(100_256 + 258);
        assertThat(golden.bosId()).isEqualTo(100_256);
        assertThat(golden.eosId()).isEqualTo(100_257);
        assertThat(golden.specialTokenId(SpecialTokens.IM_END)).isEqualTo(100_258);
        assertThat(golden.specialTokenId(SpecialTokens.IM_USER)).isEqualTo(100_259);
        assertThat(golden.specialTokenId(SpecialTokens.IM_ASSISTANT)).isEqualTo(100_260);
        assertThat(golden.specialTokenId(SpecialTokens.IM_SYSTEM)).isEqualTo(100_266);
        assertThat(golden.specialTokenId(SpecialTokens.IM_MIDDLE)).isEqualTo(100_273);
        assertThat(golden.specialTokenId("<|reserved_token_100513|>")).isEqualTo(100_513);
        assertThat(golden.isSpecial(100_255)).isFalse();
        assertThat(golden.isSpecial(100_256)).isTrue();
    }

    @Test
    void unknownSpecialNameIsAClearError() {
        assertThatThrownBy(() -> golden.specialTokenId("<|nope|>"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("<|nope|>");
    }

    @Test
    void invalidUtf8DecodesToReplacementCharactersAsPythonDoes() {
        // expected strings measured with CPython 3 bytes.decode('utf-8', 'replace') (maximal-subpart rule)
        Tokenizer t = ByteVocabulary.create();
        assertThat(t.decode(new int[] {0xE2, 0x82})).isEqualTo("\uFFFD");
        assertThat(t.decode(new int[] {0xF0, 0x80, 0x80})).isEqualTo("\uFFFD\uFFFD\uFFFD");
        assertThat(t.decode(new int[] {0xED, 0xA0, 0x80})).isEqualTo("\uFFFD\uFFFD\uFFFD");
        assertThat(t.decode(new int[] {'a', 0xFF, 'b'})).isEqualTo("a\uFFFDb");
        assertThat(t.decode(new int[] {0xF4, 0x90, 0x80, 0x80})).isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
        assertThat(t.decode(new int[] {0xC0, 0xAF})).isEqualTo("\uFFFD\uFFFD");
        assertThat(t.decode(new int[] {0xE2, 0x82, 0xAC, 0x80})).isEqualTo("€\uFFFD");
    }

    @Test
    void aTokenHoldingPartOfACharacterDecodesWithTheRestOfIt() {
        // "😀" is 4 UTF-8 bytes; single-byte tokens decode to it only together
        Tokenizer t = ByteVocabulary.create();
        int[] ids = t.encode("😀");
        assertThat(ids).containsExactly(0xF0, 0x9F, 0x98, 0x80);
        assertThat(t.decode(ids)).isEqualTo("😀");
        assertThat(t.decode(new int[] {ids[0], ids[1]})).isEqualTo("\uFFFD");
    }

    @Test
    void unknownIdsAreRejectedWithTheirPosition() {
        assertThatThrownBy(() -> golden.decode(new int[] {1, 2, golden.vocabSize()}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id " + golden.vocabSize()).hasMessageContaining("position 2");
        assertThatThrownBy(() -> golden.decode(new long[] {-1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id -1");
    }

    @Test
    void longIdsDecodeLikeIntIds() {
        int[] ids = golden.encode("Hello <|im_end|> 月之暗面");
        long[] wide = java.util.Arrays.stream(ids).asLongStream().toArray();
        assertThat(golden.decode(wide)).isEqualTo(golden.decode(ids)).isEqualTo("Hello <|im_end|> 月之暗面");
    }

    @Test
    void loneSurrogatesAreReplacedBeforeEncodingAsTiktokenDoes() {
        String broken = "a\uD800b\uDC00c";
        assertThat(golden.decode(golden.encode(broken))).isEqualTo("a\uFFFDb\uFFFDc");
        assertThat(golden.encode(broken)).isEqualTo(golden.encode("a\uFFFDb\uFFFDc"));
        // a proper pair is kept
        assertThat(golden.decode(golden.encode("x😀y"))).isEqualTo("x😀y");
    }

    @Test
    void noBosOrEosIsAddedByEncode() {
        int[] ids = golden.encode("hello");
        assertThat(ids).doesNotContain(golden.bosId(), golden.eosId());
        assertThat(golden.encode("")).isEmpty();
    }

    @Test
    void byteVocabularyHasTheMoonlightLayoutAfter256Bytes() {
        Tokenizer t = ByteVocabulary.create();
        assertThat(t.numBaseTokens()).isEqualTo(256);
        assertThat(t.vocabSize()).isEqualTo(514);
        assertThat(t.bosId()).isEqualTo(256);
        assertThat(t.eosId()).isEqualTo(257);
        assertThat(t.specialTokenId(SpecialTokens.IM_END)).isEqualTo(258);
        assertThat(t.specialTokenId(SpecialTokens.IM_SYSTEM)).isEqualTo(266);
        assertThat(t.specialTokenId(SpecialTokens.IM_MIDDLE)).isEqualTo(273);
        assertThat(t.encode("A<|im_end|>")).containsExactly(65, 258);
    }

    @Test
    void constructorRejectsTablesThatAreNotByteLevel() {
        byte[][] missingByte = new byte[255][];
        for (int i = 0; i < 255; i++) missingByte[i] = new byte[] {(byte) i};
        assertThatThrownBy(() -> new Tokenizer(missingByte, SpecialTokens.moonlightLayout(255), "[BOS]", "[EOS]"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0xff");
        byte[][] duplicate = new byte[257][];
        for (int i = 0; i < 256; i++) duplicate[i] = new byte[] {(byte) i};
        duplicate[256] = new byte[] {7};
        assertThatThrownBy(() -> new Tokenizer(duplicate, SpecialTokens.moonlightLayout(257), "[BOS]", "[EOS]"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rank 256");
    }
}
