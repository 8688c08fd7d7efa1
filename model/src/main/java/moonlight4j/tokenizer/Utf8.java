package moonlight4j.tokenizer;

/**
 * UTF-8 decoding with U+FFFD for each <em>maximal subpart</em> of an ill-formed sequence (Unicode §3.9, "U+FFFD
 * substitution of maximal subparts"), as Python's {@code bytes.decode('utf-8', 'replace')} does — which tiktoken's
 * {@code decode} calls. {@code new String(bytes, UTF_8)} differs: it replaces e.g. {@code F0 80 80} with one U+FFFD
 * where Python writes three.
 *
 * <p>Well-formed sequences (Unicode Table 3-7): {@code 00–7F}; {@code C2–DF 80–BF}; {@code E0 A0–BF 80–BF};
 * {@code E1–EC 80–BF 80–BF}; {@code ED 80–9F 80–BF}; {@code EE–EF 80–BF 80–BF}; {@code F0 90–BF 80–BF 80–BF};
 * {@code F1–F3 80–BF 80–BF 80–BF}; {@code F4 80–8F 80–BF 80–BF}. A lead byte followed by a valid prefix that
 * then breaks off is one maximal subpart (one U+FFFD); any other invalid byte is one U+FFFD by itself.
 */
final class Utf8 {

    private Utf8() {}

    static String decode(byte[] b) {
        var sb = new StringBuilder(b.length);
        int n = b.length;
        int i = 0;
        while (i < n) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                sb.append((char) b0);
                i++;
                continue;
            }
            int need; // continuation bytes after the lead
            int lo = 0x80;
            int hi = 0xBF; // allowed range of the second byte
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                if (b0 == 0xE0) lo = 0xA0;
                if (b0 == 0xED) hi = 0x9F; // no surrogates
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                if (b0 == 0xF0) lo = 0x90;
                if (b0 == 0xF4) hi = 0x8F; // nothing above U+10FFFF
            } else {
                sb.append('\uFFFD'); // 80–C1, F5–FF can never start a sequence
                i++;
                continue;
            }
            int cp = b0 & (0x3F >> need);
            int k = 1;
            for (; k <= need && i + k < n; k++) {
                int c = b[i + k] & 0xFF;
                boolean ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
                if (!ok) break;
                cp = (cp << 6) | (c & 0x3F);
            }
            if (k > need) {
                sb.appendCodePoint(cp);
                i += need + 1;
            } else {
                sb.append('\uFFFD'); // the lead and the k−1 valid continuation bytes are one maximal subpart
                i += k;
            }
        }
        return sb.toString();
    }
}
