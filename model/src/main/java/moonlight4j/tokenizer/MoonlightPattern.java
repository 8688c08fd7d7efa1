package moonlight4j.tokenizer;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Moonlight's pre-tokenization pattern (docs/tokenizer.md#pattern, {@code TikTokenTokenizer.pat_str}): eight
 * alternatives joined by {@code |}, tried in order at each position, leftmost-first (the regex engine is backtracking
 * in both tiktoken's fancy-regex and {@code java.util.regex}, so the first alternative that matches wins, not the
 * longest).
 *
 * <ol>
 *   <li>{@code [\p{Han}]+} — a run of Han characters;</li>
 *   <li>an optional non-letter/non-digit/non-newline prefix, upper/title/modifier/other letters or marks (not Han),
 *       then at least one lower/modifier/other letter or mark, then an optional English contraction;</li>
 *   <li>the same with at least one upper-type letter and any number of lower-type ones (ALLCAPS words);</li>
 *   <li>{@code \p{N}{1,3}} — digits in groups of at most three;</li>
 *   <li>{@code  ?[^\s\p{L}\p{N}]+[\r\n]*} — punctuation/symbol runs with an optional leading space;</li>
 *   <li>{@code \s*[\r\n]+} — whitespace ending in newlines;</li>
 *   <li>{@code \s+(?!\S)} — whitespace not followed by a non-space (leaves one space for the next word);</li>
 *   <li>{@code \s+} — any remaining whitespace.</li>
 * </ol>
 *
 * <p>Java spelling: {@code \p{Han}} becomes {@code \p{IsHan}} (both are the Unicode <em>Script</em> property; Rust's
 * regex-syntax maps a bare script name to Script, not Script_Extensions), and the pattern is compiled with
 * {@link Pattern#UNICODE_CHARACTER_CLASS} so that {@code \s}/{@code \S} mean Unicode White_Space as in Rust and
 * {@code (?i:…)} folds case by Unicode rules. {@code &&} class intersection means the same in both engines.
 * Remaining risk: the JDK's Unicode tables (JDK 17: Unicode 13) are older than those of the Rust regex crate, so
 * characters assigned after Unicode 13 may be classified differently.
 */
public final class MoonlightPattern {

    /** The eight alternatives as written in {@code tokenization_moonshot.py} (Python/Rust spelling). */
    public static final List<String> PYTHON_ALTERNATIVES = List.of(
            "[\\p{Han}]+",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]*"
                    + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]+"
                    + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*",
            "\\s*[\\r\\n]+",
            "\\s+(?!\\S)",
            "\\s+");

    /** {@code pat_str} exactly as Moonlight's Python class builds it. */
    public static final String PYTHON_PAT_STR = String.join("|", PYTHON_ALTERNATIVES);

    /** The same pattern in {@code java.util.regex} spelling ({@code \p{Han}} → {@code \p{IsHan}}). */
    public static final String JAVA_PAT_STR = PYTHON_PAT_STR.replace("\\p{Han}", "\\p{IsHan}");

    /** Compiled once; {@link Pattern} is thread-safe. */
    public static final Pattern PATTERN = Pattern.compile(JAVA_PAT_STR, Pattern.UNICODE_CHARACTER_CLASS);

    private MoonlightPattern() {}

    /** The pieces the pattern cuts {@code text} into, in order (what BPE then sees one at a time). */
    public static List<String> split(String text) {
        var m = PATTERN.matcher(text);
        var out = new java.util.ArrayList<String>();
        while (m.find()) out.add(m.group());
        return out;
    }
}
