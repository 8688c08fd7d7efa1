package moonlight4j.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * Moonlight's tokenizer (docs/tokenizer.md): tiktoken byte-level BPE over a rank table, Moonlight's pre-tokenization
 * pattern ({@link MoonlightPattern}), its special tokens ({@link SpecialTokens}) and its encode wrapper
 * ({@link EncodeWindows}).
 *
 * <p>Ids: {@code 0 … numBase−1} are the ranks of the table (rank = id), {@code numBase …} the special tokens;
 * {@link #vocabSize()} = largest id + 1 (tiktoken's {@code n_vocab}). For the released Moonlight files this is
 * 163,584 + 258 = 163,842, two more than the model's embedding rows (163,840).
 *
 * <p>{@code encode(text)} (Moonlight's default, {@code allow_special_tokens=True}):
 * <ol>
 *   <li>cut the text into {@link EncodeWindows windows and runs};</li>
 *   <li>in each substring, every occurrence of a special token's text becomes its id (tiktoken
 *       {@code allowed_special="all"}); the text between them is cut by the pattern;</li>
 *   <li>each piece's UTF-8 bytes are looked up whole in the rank table, else byte-pair merged: repeatedly merge the
 *       adjacent pair whose concatenation has the lowest rank (leftmost on ties) until no pair has a rank.</li>
 * </ol>
 * Step 3 is delegated to jtokkit, given our ranks and pattern. No BOS/EOS is added. Lone UTF-16 surrogates (not
 * Unicode scalar values) are replaced by U+FFFD first, as tiktoken's Python binding does.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Tokenizer {

    private final byte[][] tokenBytes; // (vocabSize) id -> bytes; specials hold their UTF-8 text
    private final int numBase;
    private final SpecialTokens specials;
    private final int bosId;
    private final int eosId;
    private final Encoding bpe; // jtokkit: pattern split + BPE of ordinary text
    private final Map<Character, String[]> specialsByFirstChar; // longest first
    private final BitSet specialFirstChars; // quick filter before the map lookup

    /**
     * @param ranks    {@code ranks[r]} = the bytes of rank {@code r}; all distinct, every single byte present
     * @param specials special tokens, ids from {@code ranks.length} on
     * @param bosToken name of the BOS token among {@code specials}
     * @param eosToken name of the EOS token among {@code specials}
     */
    public Tokenizer(byte[][] ranks, SpecialTokens specials, String bosToken, String eosToken) {
        this.numBase = ranks.length;
        if (specials.size() > 0 && specials.firstId() != numBase) {
            throw new IllegalArgumentException("special ids must start right after the " + numBase
                    + " ranks, but start at " + specials.firstId());
        }
        this.specials = specials;
        this.bosId = specials.id(bosToken);
        this.eosId = specials.id(eosToken);
        this.tokenBytes = new byte[numBase + specials.size()][];
        var encoder = new HashMap<byte[], Integer>(2 * numBase); // identity keys: jtokkit only iterates it
        var seen = new HashSet<ByteBuffer>(2 * numBase);
        for (int r = 0; r < numBase; r++) {
            if (ranks[r] == null || ranks[r].length == 0 || !seen.add(ByteBuffer.wrap(ranks[r]))) {
                throw new IllegalArgumentException("rank " + r + " is empty or repeats the bytes of another rank");
            }
            tokenBytes[r] = ranks[r].clone();
            encoder.put(tokenBytes[r], r);
        }
        for (int b = 0; b < 256; b++) {
            if (!seen.contains(ByteBuffer.wrap(new byte[] {(byte) b}))) {
                throw new IllegalArgumentException("single byte 0x" + Integer.toHexString(b)
                        + " has no rank; byte-level BPE needs all 256");
            }
        }
        specials.idByName().forEach((name, id) -> tokenBytes[id] = name.getBytes(StandardCharsets.UTF_8));
        var params = new GptBytePairEncodingParams("moonlight", MoonlightPattern.PATTERN, encoder, Map.of()); // specials: ours
        this.bpe = Encodings.newLazyEncodingRegistry().registerGptBytePairEncoding(params).getEncoding("moonlight")
                .orElseThrow();
        var byFirst = new HashMap<Character, List<String>>();
        for (String name : specials.idByName().keySet()) {
            byFirst.computeIfAbsent(name.charAt(0), c -> new ArrayList<>()).add(name);
        }
        this.specialsByFirstChar = new HashMap<>();
        this.specialFirstChars = new BitSet();
        byFirst.keySet().forEach(c -> specialFirstChars.set(c));
        byFirst.forEach((c, names) -> {
            names.sort((a, b) -> Integer.compare(b.length(), a.length()));
            specialsByFirstChar.put(c, names.toArray(String[]::new));
        });
    }

    /** Moonlight's default {@code encode}: special-token texts anywhere in {@code text} become their ids. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** {@code encode(text, allow_special_tokens=False)}: special-token texts are encoded as ordinary text. */
    public int[] encodeOrdinary(String text) {
        return encode(text, false);
    }

    private int[] encode(String text, boolean allowSpecial) {
        var out = new IntBuffer(text.length() / 3 + 16);
        for (String part : EncodeWindows.split(replaceLoneSurrogates(text))) {
            if (allowSpecial) {
                encodeWithSpecials(part, out);
            } else {
                encodeOrdinaryPart(part, out);
            }
        }
        return out.toArray();
    }

    /** tiktoken {@code _encode_native}: find the next special token, encode the text before it, emit its id. */
    private void encodeWithSpecials(String part, IntBuffer out) {
        int segmentStart = 0;
        for (int i = 0; i < part.length(); i++) {
            if (!specialFirstChars.get(part.charAt(i))) continue;
            String[] candidates = specialsByFirstChar.get(part.charAt(i));
            for (String name : candidates) {
                if (part.startsWith(name, i)) {
                    encodeOrdinaryPart(part.substring(segmentStart, i), out);
                    out.add(specials.id(name));
                    i += name.length() - 1;
                    segmentStart = i + 1;
                    break;
                }
            }
        }
        encodeOrdinaryPart(part.substring(segmentStart), out);
    }

    private void encodeOrdinaryPart(String segment, IntBuffer out) {
        if (segment.isEmpty()) return;
        var ids = bpe.encodeOrdinary(segment);
        for (int k = 0; k < ids.size(); k++) out.add(ids.get(k));
    }

    /** The bytes of {@code ids} concatenated (tiktoken {@code decode_bytes}). @throws IllegalArgumentException on an unknown id */
    public byte[] decodeBytes(int[] ids) {
        var bytes = new ByteArrayOutputStream(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            bytes.writeBytes(tokenBytes(ids[i], i));
        }
        return bytes.toByteArray();
    }

    /** {@link #decodeBytes} as UTF-8; each maximal ill-formed subpart becomes U+FFFD ({@link Utf8}; tiktoken {@code decode}, errors="replace"). */
    public String decode(int[] ids) {
        return Utf8.decode(decodeBytes(ids));
    }

    /** {@link #decode(int[])} for ids held as {@code long} (e.g. an I64 tensor). */
    public String decode(long[] ids) {
        int[] narrow = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= tokenBytes.length) {
                throw unknownId(ids[i], i);
            }
            narrow[i] = (int) ids[i];
        }
        return decode(narrow);
    }

    /** The bytes of one token (a copy). */
    public byte[] tokenBytes(int id) {
        return tokenBytes(id, 0).clone();
    }

    /** The number of bytes of one token. */
    public int tokenByteLength(int id) {
        return tokenBytes(id, 0).length;
    }

    private byte[] tokenBytes(int id, int position) {
        if (id < 0 || id >= tokenBytes.length) throw unknownId(id, position);
        return tokenBytes[id];
    }

    private IllegalArgumentException unknownId(long id, int position) {
        return new IllegalArgumentException("token id " + id + " at position " + position
                + " is not in the vocabulary (ids 0…" + (tokenBytes.length - 1) + ")");
    }

    /** Id of a special token by name ({@code "<|im_end|>"}). @throws IllegalArgumentException if there is none */
    public int specialTokenId(String name) {
        return specials.id(name);
    }

    public SpecialTokens specialTokens() {
        return specials;
    }

    public boolean isSpecial(int id) {
        return specials.isSpecial(id);
    }

    /** tiktoken's {@code n_vocab}: number of rank-table tokens plus special tokens. */
    public int vocabSize() {
        return tokenBytes.length;
    }

    /** Number of rank-table tokens; the first special id. */
    public int numBaseTokens() {
        return numBase;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    /** Replaces each unpaired UTF-16 surrogate with U+FFFD (tiktoken: utf-16 surrogatepass → decode replace). */
    static String replaceLoneSurrogates(String s) {
        char[] chars = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                if (chars == null) chars = s.toCharArray();
                chars[i] = '\uFFFD';
            }
        }
        return chars == null ? s : new String(chars);
    }

    /** A growable {@code int[]}. */
    private static final class IntBuffer {
        private int[] data;
        private int size;

        IntBuffer(int capacity) {
            data = new int[Math.max(capacity, 16)];
        }

        void add(int v) {
            if (size == data.length) data = Arrays.copyOf(data, data.length * 2);
            data[size++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
