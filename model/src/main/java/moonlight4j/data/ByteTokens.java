package moonlight4j.data;

import java.nio.charset.StandardCharsets;

/**
 * Byte-level tokens as the embedded default's vocabulary ranks them ({@code moonlight4j.tokenizer.ByteVocabulary}:
 * rank i = the single byte i, no merges): a text's token ids are its UTF-8 bytes.
 */
public final class ByteTokens {

    /** Number of byte ranks. */
    public static final int BYTES = 256;

    private ByteTokens() {
    }

    /** The UTF-8 bytes of {@code text} as ids in {@code [0, 256)}. */
    public static long[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        long[] ids = new long[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
        return ids;
    }

    /** Ids back to text (ids ≥ 256, the special tokens, are dropped; invalid UTF-8 becomes U+FFFD). */
    public static String decode(long[] ids) {
        byte[] b = new byte[ids.length];
        int n = 0;
        for (long id : ids) if (id >= 0 && id < BYTES) b[n++] = (byte) id;
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }
}
