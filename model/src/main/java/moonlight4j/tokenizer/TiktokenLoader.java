package moonlight4j.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;

/**
 * Loads a Moonlight tokenizer from a model directory: {@code tiktoken.model} (the rank table) and
 * {@code tokenizer_config.json} (special-token names), as {@code TikTokenTokenizer.__init__} does
 * (docs/tokenizer.md#special-tokens).
 *
 * <p>{@code tiktoken.model}: one {@code base64(token bytes) rank} per line ({@code load_tiktoken_bpe}); empty lines
 * are skipped; lines end in {@code \n}, {@code \r\n} or {@code \r}. Checked here, each failure naming the file and
 * line: exactly two fields; strict base64 of a non-empty token; a non-negative integer rank; no rank and no token
 * twice. Checked over the whole file: ranks are exactly {@code 0 … n−1} (Moonlight numbers its special tokens from
 * {@code n = len(ranks)}, so a gap would collide) and all 256 single bytes have a rank (byte-level BPE must be able
 * to fall back to single bytes).
 */
public final class TiktokenLoader {

    public static final String RANKS_FILE = "tiktoken.model";
    public static final String CONFIG_FILE = "tokenizer_config.json";

    private TiktokenLoader() {}

    /** Loads {@code modelDir/tiktoken.model} and {@code modelDir/tokenizer_config.json}. */
    public static Tokenizer load(Path modelDir) throws IOException {
        byte[][] ranks = readRanks(modelDir.resolve(RANKS_FILE));
        TokenizerConfig config = TokenizerConfig.read(modelDir.resolve(CONFIG_FILE));
        Path configFile = modelDir.resolve(CONFIG_FILE);
        SpecialTokens specials;
        try {
            specials = SpecialTokens.fromAddedTokens(ranks.length, config.addedTokens());
        } catch (IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
        for (String name : new String[] {config.bosToken(), config.eosToken()}) {
            if (!specials.contains(name)) {
                throw new IOException(configFile + ": bos/eos token " + name + " is not among the special tokens "
                        + ranks.length + "…" + (ranks.length + SpecialTokens.COUNT - 1)
                        + " (added_tokens_decoder must name it)");
            }
        }
        return new Tokenizer(ranks, specials, config.bosToken(), config.eosToken());
    }

    /** Reads a tiktoken rank file; {@code result[r]} = the bytes of rank {@code r}. */
    public static byte[][] readRanks(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("rank file " + file + " does not exist (expected tiktoken.model: one "
                    + "'base64(token) rank' per line)");
        }
        byte[] data = Files.readAllBytes(file);
        byte[][] tokenByRank = new byte[Math.max(16, data.length / 10)][]; // grows; ranks are dense
        int[] lineOfRank = new int[tokenByRank.length];
        var lineByToken = new HashMap<ByteBuffer, Integer>(data.length / 6);
        Base64.Decoder base64 = Base64.getDecoder();
        int count = 0;
        int maxRank = -1;
        int lineNo = 0;
        int pos = 0;
        while (pos < data.length) {
            int end = pos;
            while (end < data.length && data[end] != '\n' && data[end] != '\r') end++;
            lineNo++;
            int next = end;
            if (next < data.length && data[next] == '\r' && next + 1 < data.length && data[next + 1] == '\n') next++;
            next++;
            if (end > pos) {
                int[] fields = fields(data, pos, end);
                if (fields.length != 4) {
                    throw lineError(file, lineNo, "expected 'base64(token) rank', got "
                            + (fields.length / 2) + " field(s): \"" + text(data, pos, end) + "\"");
                }
                byte[] token;
                try {
                    token = base64.decode(Arrays.copyOfRange(data, fields[0], fields[1]));
                } catch (IllegalArgumentException e) {
                    throw lineError(file, lineNo, "token \"" + text(data, fields[0], fields[1])
                            + "\" is not valid base64 (" + e.getMessage() + ")");
                }
                if (token.length == 0) throw lineError(file, lineNo, "token decodes to zero bytes");
                int rank = parseRank(data, fields[2], fields[3], file, lineNo);
                if (rank >= tokenByRank.length) {
                    if (rank > 4 * data.length) {
                        throw lineError(file, lineNo, "rank " + rank + " is far beyond the number of lines");
                    }
                    int size = Math.max(rank + 1, 2 * tokenByRank.length);
                    tokenByRank = Arrays.copyOf(tokenByRank, size);
                    lineOfRank = Arrays.copyOf(lineOfRank, size);
                }
                if (tokenByRank[rank] != null) {
                    throw lineError(file, lineNo, "rank " + rank + " already given on line " + lineOfRank[rank]);
                }
                Integer otherLine = lineByToken.putIfAbsent(ByteBuffer.wrap(token), lineNo);
                if (otherLine != null) {
                    throw lineError(file, lineNo, "token \"" + text(data, fields[0], fields[1])
                            + "\" already has a rank on line " + otherLine);
                }
                tokenByRank[rank] = token;
                lineOfRank[rank] = lineNo;
                count++;
                maxRank = Math.max(maxRank, rank);
            }
            pos = next;
        }
        if (count == 0) throw new IOException(file + ": no ranks (empty file)");
        for (int r = 0; r < count; r++) {
            if (tokenByRank[r] == null) {
                throw new IOException(file + ": ranks must be 0…" + (count - 1) + " for " + count + " tokens, but rank "
                        + r + " is missing (largest rank " + maxRank + ")");
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!lineByToken.containsKey(ByteBuffer.wrap(new byte[] {(byte) b}))) {
                throw new IOException(file + ": single byte 0x" + String.format("%02x", b)
                        + " has no rank; a byte-level BPE table must rank all 256 bytes");
            }
        }
        return Arrays.copyOf(tokenByRank, count);
    }

    /** Start/end offsets of the whitespace-separated fields of {@code data[from, to)} (Python {@code bytes.split()}). */
    private static int[] fields(byte[] data, int from, int to) {
        int[] out = new int[8];
        int n = 0;
        int i = from;
        while (i < to) {
            while (i < to && isAsciiSpace(data[i])) i++;
            if (i >= to) break;
            int start = i;
            while (i < to && !isAsciiSpace(data[i])) i++;
            if (n + 2 > out.length) out = Arrays.copyOf(out, out.length * 2);
            out[n++] = start;
            out[n++] = i;
        }
        return Arrays.copyOf(out, n);
    }

    private static boolean isAsciiSpace(byte b) {
        return b == ' ' || b == '\t' || b == 0x0b || b == 0x0c;
    }

    private static int parseRank(byte[] data, int from, int to, Path file, int lineNo) throws IOException {
        long value = 0;
        if (to - from > 10) throw lineError(file, lineNo, "rank \"" + text(data, from, to) + "\" is too large");
        for (int i = from; i < to; i++) {
            int d = data[i] - '0';
            if (d < 0 || d > 9) {
                throw lineError(file, lineNo, "rank \"" + text(data, from, to) + "\" is not a non-negative integer");
            }
            value = value * 10 + d;
        }
        if (value > Integer.MAX_VALUE - SpecialTokens.COUNT) {
            throw lineError(file, lineNo, "rank " + value + " is too large");
        }
        return (int) value;
    }

    private static String text(byte[] data, int from, int to) {
        String s = new String(data, from, Math.min(to - from, 80), StandardCharsets.UTF_8);
        return to - from > 80 ? s + "…" : s;
    }

    private static IOException lineError(Path file, int lineNo, String what) {
        return new IOException(file + ":" + lineNo + ": " + what);
    }
}
