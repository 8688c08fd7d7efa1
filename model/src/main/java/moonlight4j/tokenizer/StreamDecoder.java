package moonlight4j.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * Turns a stream of token ids into text as it arrives. A token may end inside a multi-byte UTF-8 character (byte-level
 * BPE splits them freely), so the bytes of an incomplete trailing character are held back until the next token
 * completes it. The concatenation of everything {@link #push} and {@link #finish} return equals
 * {@link Tokenizer#decode} of all the ids (tiktoken's {@code decode}: invalid bytes → U+FFFD per maximal subpart).
 */
public final class StreamDecoder {

    private final Tokenizer tokenizer;
    private byte[] pending = new byte[0];

    public StreamDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The text that token {@code id} completes (possibly empty). */
    public String push(int id) {
        return push(tokenizer.tokenBytes(id));
    }

    /** The text these bytes complete, holding back an unfinished trailing character. */
    public String push(byte[] bytes) {
        var buf = new ByteArrayOutputStream(pending.length + bytes.length);
        buf.writeBytes(pending);
        buf.writeBytes(bytes);
        byte[] all = buf.toByteArray();
        int cut = completePrefix(all);
        pending = java.util.Arrays.copyOfRange(all, cut, all.length);
        return Utf8.decode(java.util.Arrays.copyOf(all, cut));
    }

    /** Whatever is held back, decoded as is (an unfinished character becomes U+FFFD). */
    public String finish() {
        String s = Utf8.decode(pending);
        pending = new byte[0];
        return s;
    }

    /**
     * The length of the longest prefix that ends on a character boundary of the decoder: everything but a trailing
     * lead byte followed by valid continuation bytes that stop only because the input ends.
     */
    static int completePrefix(byte[] b) {
        int n = b.length, i = 0;
        while (i < n) {
            int b0 = b[i] & 0xFF;
            int need, lo = 0x80, hi = 0xBF;
            if (b0 < 0x80) {
                i++;
                continue;
            } else if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                if (b0 == 0xE0) lo = 0xA0;
                if (b0 == 0xED) hi = 0x9F;
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                if (b0 == 0xF0) lo = 0x90;
                if (b0 == 0xF4) hi = 0x8F;
            } else {
                i++;
                continue;
            }
            int k = 1;
            for (; k <= need && i + k < n; k++) {
                int c = b[i + k] & 0xFF;
                boolean ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
                if (!ok) break;
            }
            if (k > need) {
                i += need + 1;                    // a whole character
            } else if (i + k == n) {
                return i;                         // valid so far, cut short by the end: hold it back
            } else {
                i += k;                           // an ill-formed subpart: decoded now as U+FFFD
            }
        }
        return n;
    }
}
