package moonlight4j.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Step 1 of Moonlight's {@code encode} (docs/tokenizer.md#encode-windows): before tiktoken sees a text, it is cut into
 * windows of {@value #MAX_ENCODE_CHARS} characters, and each window into substrings in which no run of consecutive
 * whitespace characters, nor of consecutive non-whitespace characters, is longer than {@value #MAX_CONSECUTIVE_CHARS}.
 * Each substring is then encoded on its own, so no token and no special-token match crosses a cut.
 *
 * <p>"Character" is a Python {@code str} element, i.e. a Unicode code point (never half of a surrogate pair), and
 * whitespace is Python's {@code str.isspace()} ({@link #isPythonSpace}).
 */
public final class EncodeWindows {

    /** {@code TIKTOKEN_MAX_ENCODE_CHARS}: window length in code points. */
    public static final int MAX_ENCODE_CHARS = 400_000;
    /** {@code MAX_NO_WHITESPACES_CHARS}: longest run of whitespace or of non-whitespace in one substring. */
    public static final int MAX_CONSECUTIVE_CHARS = 25_000;

    private EncodeWindows() {}

    /** The substrings Moonlight's {@code encode} hands to tiktoken, in order, with the released limits. */
    public static List<String> split(String text) {
        return split(text, MAX_ENCODE_CHARS, MAX_CONSECUTIVE_CHARS);
    }

    /**
     * The same with other limits (both in code points; for tests). Concatenating the result gives {@code text}
     * back; an empty text gives no substrings at all (Python's {@code range(0, 0, n)} is empty).
     */
    public static List<String> split(String text, int windowCodePoints, int maxConsecutive) {
        if (windowCodePoints < 1 || maxConsecutive < 1) {
            throw new IllegalArgumentException("window and run limits must be positive, got " + windowCodePoints
                    + " and " + maxConsecutive);
        }
        var out = new ArrayList<String>();
        int windowStart = 0; // char index
        while (windowStart < text.length()) {
            int windowEnd = offsetByCodePointsClamped(text, windowStart, windowCodePoints);
            splitRuns(text, windowStart, windowEnd, maxConsecutive, out);
            windowStart = windowEnd;
        }
        return out;
    }

    /**
     * {@code _split_whitespaces_or_nonwhitespaces(s, max)} of {@code tokenization_moonshot.py} on
     * {@code text[start, end)}: a run counter restarts at 1 whenever the whitespace-ness flips; when it would exceed
     * {@code max}, a cut is made before the current character and the counter restarts at 1.
     */
    private static void splitRuns(String text, int start, int end, int max, List<String> out) {
        int runLength = 0;
        boolean runIsSpace = isPythonSpace(text.codePointAt(start));
        int sliceStart = start;
        for (int i = start; i < end; ) {
            int cp = text.codePointAt(i);
            boolean isSpace = isPythonSpace(cp);
            if (runIsSpace ^ isSpace) {
                runLength = 1;
                runIsSpace = isSpace;
            } else {
                runLength++;
                if (runLength > max) {
                    out.add(text.substring(sliceStart, i));
                    sliceStart = i;
                    runLength = 1;
                }
            }
            i += Character.charCount(cp);
        }
        out.add(text.substring(sliceStart, end));
    }

    private static int offsetByCodePointsClamped(String text, int from, int codePoints) {
        int i = from;
        for (int n = 0; n < codePoints && i < text.length(); n++) {
            i += Character.charCount(text.codePointAt(i));
        }
        return i;
    }

    /**
     * Python's {@code str.isspace()} for one code point: bidirectional class WS, B or S, or general category Zs.
     * This differs from {@link Character#isWhitespace} (which excludes no-break spaces) and from Unicode
     * White_Space (which excludes U+001C…U+001F). The set is fixed across Unicode versions since 6.3.
     */
    public static boolean isPythonSpace(int cp) {
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
                    0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }
}
