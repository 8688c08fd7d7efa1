package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** UTF-8 decoding with maximal-subpart replacement, as CPython's {@code decode('utf-8', 'replace')}. */
class Utf8Test {

    /** Bytes (hex) → code points (hex, '+'-separated) as measured with CPython 3.11 (unicodedata 14.0). */
    @ParameterizedTest
    @CsvSource({
            "f09f98, fffd", "f09f9841, fffd+41", "e08080, fffd+fffd+fffd", "c2, fffd", "8080, fffd+fffd",
            "efbfbd, fffd", "f48fbfbf, 10ffff", "ed9fbf, d7ff", "e0a080, 800", "c2c2a9, fffd+a9", "f5, fffd",
            "feff, fffd+fffd", "f0808080, fffd+fffd+fffd+fffd", "eda080, fffd+fffd+fffd", "e282, fffd",
            "e282ac80, 20ac+fffd"})
    void matchesCPython(String hex, String expected) {
        StringBuilder sb = new StringBuilder();
        for (String cp : expected.split("\\+")) sb.appendCodePoint(Integer.parseInt(cp, 16));
        assertThat(Utf8.decode(HexFormat.of().parseHex(hex))).isEqualTo(sb.toString());
    }

    @Test
    void wellFormedTextDecodesToItself() {
        qt().forAll(lists().of(integers().between(0, 0x10FFFF - 0x800)).ofSizeBetween(0, 30)).check(cps -> {
            var sb = new StringBuilder();
            cps.forEach(i -> sb.appendCodePoint(i >= 0xD800 ? i + 0x800 : i));
            String s = sb.toString();
            return Utf8.decode(s.getBytes(StandardCharsets.UTF_8)).equals(s);
        });
    }

    @Test
    void arbitraryBytesAgreeWithTheJdkWhereverTheJdkHasNoReplacement() {
        // where the input is well-formed both decoders must agree; elsewhere ours writes at least one U+FFFD
        qt().forAll(lists().of(integers().between(0, 255)).ofSizeBetween(0, 24)).check(bs -> {
            byte[] b = new byte[bs.size()];
            for (int i = 0; i < b.length; i++) b[i] = (byte) (int) bs.get(i);
            String jdk = new String(b, StandardCharsets.UTF_8);
            String ours = Utf8.decode(b);
            return jdk.indexOf('\uFFFD') >= 0 || ours.equals(jdk);
        });
    }
}
