package moonlight4j.tokenizer;

import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The BPE core (jtokkit) against a plain textbook merge loop written here from docs/tokenizer.md#pattern: look the
 * piece up whole, else start from single bytes and repeatedly merge the adjacent pair whose concatenation has the
 * lowest rank (leftmost on ties) until no adjacent pair has a rank. jtokkit switches to a different algorithm for
 * pieces of 500 bytes or more, so pieces here run up to a few thousand bytes.
 */
class ReferenceBpeTest {

    private static final Tokenizer T = TestVocabularies.golden();
    private static final Map<ByteBuffer, Integer> RANKS = new HashMap<>();
    static {
        for (int r = 0; r < T.numBaseTokens(); r++) RANKS.put(ByteBuffer.wrap(T.tokenBytes(r)), r);
    }

    /** The plain merge loop, O(n²) per piece. */
    static List<Integer> referenceBpe(byte[] piece) {
        Integer whole = RANKS.get(ByteBuffer.wrap(piece));
        if (whole != null) return List.of(whole);
        List<byte[]> parts = new ArrayList<>();
        for (byte b : piece) parts.add(new byte[] {b});
        while (parts.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = RANKS.get(ByteBuffer.wrap(concat(parts.get(i), parts.get(i + 1))));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) break;
            parts.set(best, concat(parts.get(best), parts.remove(best + 1)));
        }
        List<Integer> out = new ArrayList<>();
        for (byte[] p : parts) out.add(RANKS.get(ByteBuffer.wrap(p)));
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Long single pattern pieces: lower-case words, Han runs, whitespace runs, punctuation runs, accented words. */
    private static Gen<String> longPieces() {
        Gen<String> lower = lists().of(Generate.pick(List.of("ab", "the", "ing", "q", "x", "é", "tion", "zz")))
                .ofSizeBetween(1, 700).map(l -> String.join("", l));
        Gen<String> han = lists().of(integers().between(0x4E00, 0x9FFF).map(Character::toString))
                .ofSizeBetween(1, 400).map(l -> String.join("", l));
        Gen<String> spaces = lists().of(Generate.pick(List.of(" ", "\t", "\u3000", " "))).ofSizeBetween(1, 1500)
                .map(l -> String.join("", l));
        Gen<String> punct = lists().of(Generate.pick(List.of("$", "(", ")", ".", "-", "=", "*", "…", "—")))
                .ofSizeBetween(1, 900).map(l -> String.join("", l));
        return Generate.oneOf(lower, han, spaces, punct);
    }

    @Test
    void jtokkitMatchesThePlainMergeLoopPieceByPiece() {
        qt().withExamples(60).forAll(longPieces()).check(text -> {
            var expected = new ArrayList<Integer>();
            for (String piece : MoonlightPattern.split(text)) {
                expected.addAll(referenceBpe(piece.getBytes(StandardCharsets.UTF_8)));
            }
            int[] got = T.encodeOrdinary(text);
            return Arrays.equals(got, expected.stream().mapToInt(Integer::intValue).toArray());
        });
    }
}
