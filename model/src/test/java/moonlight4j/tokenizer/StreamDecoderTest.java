package moonlight4j.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.longs;

class StreamDecoderTest {

    @Test
    void aCharacterSplitAcrossTokensIsHeldBackUntilComplete() {
        Tokenizer t = ByteVocabulary.create();
        StreamDecoder d = new StreamDecoder(t);
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);     // E2 82 AC: three byte tokens
        assertThat(d.push(euro[0] & 0xFF)).isEmpty();
        assertThat(d.push(euro[1] & 0xFF)).isEmpty();
        assertThat(d.push(euro[2] & 0xFF)).isEqualTo("€");
        assertThat(d.push('a')).isEqualTo("a");
        assertThat(d.push(0xF0)).isEmpty();
        assertThat(d.finish()).isEqualTo("\uFFFD");
    }

    @Test
    void streamedTextEqualsDecodingEverythingAtOnce() {
        // random bytes (mostly ill-formed) and random UTF-8 text, cut into random chunks
        qt().withExamples(300).forAll(longs().all()).checkAssert(seed -> {
            Random r = new Random(seed);
            byte[] all;
            if (r.nextBoolean()) {
                all = new byte[r.nextInt(40)];
                for (int i = 0; i < all.length; i++) all[i] = (byte) (0x7A + r.nextInt(0x80));
            } else {
                StringBuilder s = new StringBuilder();
                for (int i = 0; i < 12; i++) s.appendCodePoint(new int[]{'x', 0xE9, 0x4E2D, 0x1F600}[r.nextInt(4)]);
                all = s.toString().getBytes(StandardCharsets.UTF_8);
            }
            StreamDecoder d = new StreamDecoder(ByteVocabulary.create());
            StringBuilder out = new StringBuilder();
            int at = 0;
            while (at < all.length) {
                int n = 1 + r.nextInt(3);
                out.append(d.push(Arrays.copyOfRange(all, at, Math.min(all.length, at + n))));
                at += n;
            }
            out.append(d.finish());
            assertThat(out.toString()).isEqualTo(Utf8.decode(all));
        });
    }
}
