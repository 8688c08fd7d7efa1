package moonlight4j.data;

import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * One tokenized conversation for supervised fine-tuning: the chat-template ids and, aligned with them (HF convention:
 * the loss shifts by one, SPEC §4.1), labels equal to the id on assistant-turn tokens and {@link #IGNORE} (−100)
 * everywhere else — system and user turns and the template's markup before each assistant reply are context only.
 *
 * <p>Assistant spans are found through the template itself, so a model directory's Jinja {@code chat_template}
 * works as well as the built-in format: for each assistant message k, the tokens of
 * {@code render(messages[..k], add_generation_prompt)} must be a prefix of those of {@code render(messages[..k])}, and
 * the rest — the reply and the template's end-of-turn markup ({@code <|im_end|>} in Moonlight's) — are learned.
 *
 * <p>Work is linear in the conversation's length. The built-in format is tokenized block by block (each message's
 * block starts and ends with a special token, which no token crosses), giving every prefix's tokens as a sum of
 * block lengths; the blocks' tokens are checked to be the whole conversation's, and when they are not (a text long
 * enough for {@link moonlight4j.tokenizer.EncodeWindows} to cut it) the prefixes are rendered and tokenized one by
 * one as for a Jinja template. That way re-tokenizes each prefix, so it stops at the first assistant turn that starts
 * at or past {@code maxLength} tokens: a longer example is cut there, and what lies past the cut is never learned.
 */
public record SftExample(int[] inputIds, int[] labels) {

    /** {@code ignore_index} of the cross-entropy (SPEC §4.1). */
    public static final int IGNORE = -100;

    /**
     * @param where the conversation's origin for error messages ({@code file:line})
     * @throws IllegalArgumentException if the template's renderings are not prefix-consistent
     */
    public static SftExample of(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer, String where) {
        return of(messages, template, tokenizer::encode, where, Integer.MAX_VALUE);
    }

    /**
     * {@link #of(List, ChatTemplate, Tokenizer, String)} for examples that will be cut at {@code maxLength} tokens:
     * assistant turns starting at or past the cut may be left unlabelled.
     */
    public static SftExample of(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer, String where,
                                int maxLength) {
        return of(messages, template, tokenizer::encode, where, maxLength);
    }

    /** The same with the tokenizer's {@code encode} given as a function (tests count what it is asked to do). */
    static SftExample of(List<ChatMessage> messages, ChatTemplate template, Function<String, int[]> encode,
                         String where, int maxLength) {
        int[] ids = encode.apply(template.render(messages, false));
        int[] labels = byBlocks(messages, template, encode, ids);
        return new SftExample(ids, labels != null ? labels : byPrefixes(messages, template, encode, where, ids, maxLength));
    }

    /**
     * The labels from the built-in format's blocks, or null when that does not apply: a Jinja template, a default
     * system prompt that only some prefixes would get (a system message after the first turn), or block tokens
     * that are not exactly the conversation's.
     */
    private static int[] byBlocks(List<ChatMessage> messages, ChatTemplate template, Function<String, int[]> encode,
                                  int[] ids) {
        List<String> blocks = template.blocks(messages).orElse(null);
        if (blocks == null) return null;
        int offset = blocks.size() - messages.size();                       // 1 when a default system prompt leads
        if (template.defaultSystemPrompt().isPresent() && offset == 0 && !messages.get(0).role().equals("system")) {
            return null;                     // a later system message: the prefixes before it get the default one
        }
        int[] opening = encode.apply(ChatTemplate.generationPrompt());
        int[] labels = new int[ids.length];
        Arrays.fill(labels, IGNORE);
        int at = 0;
        for (int b = 0; b < blocks.size(); b++) {
            int[] block = encode.apply(blocks.get(b));
            if (at + block.length > ids.length || !Arrays.equals(block, 0, block.length, ids, at, at + block.length)) {
                return null;
            }
            int k = b - offset;
            if (k >= 0 && messages.get(k).role().equals("assistant")) {
                if (!isPrefix(opening, block)) return null;
                for (int i = at + opening.length; i < at + block.length; i++) labels[i] = ids[i];
            }
            at += block.length;
        }
        return at == ids.length ? labels : null;
    }

    /** The labels from rendering and tokenizing each assistant turn's prefixes, up to the cut at {@code maxLength}. */
    static int[] byPrefixes(List<ChatMessage> messages, ChatTemplate template, Function<String, int[]> encode,
                            String where, int[] ids, int maxLength) {
        int[] labels = new int[ids.length];
        Arrays.fill(labels, IGNORE);
        for (int k = 0; k < messages.size(); k++) {
            if (!messages.get(k).role().equals("assistant")) continue;
            int[] before = encode.apply(template.render(messages.subList(0, k), true));   // context + reply opening
            if (before.length >= maxLength && isPrefix(before, ids)) break;    // this turn and later ones: past the cut
            int[] through = encode.apply(template.render(messages.subList(0, k + 1), false));
            if (!isPrefix(before, through) || !isPrefix(through, ids)) {
                throw new IllegalArgumentException(where + ": the chat template's rendering of the first " + (k + 1)
                        + " messages is not a token prefix of the whole conversation; cannot locate assistant turn "
                        + k);
            }
            for (int i = before.length; i < through.length; i++) labels[i] = ids[i];
        }
        return labels;
    }

    /** Number of tokens with a label (the loss's denominator). */
    public int targets() {
        int n = 0;
        for (int l : labels) if (l != IGNORE) n++;
        return n;
    }

    public int length() {
        return inputIds.length;
    }

    /** The first {@code n} tokens. */
    public SftExample truncated(int n) {
        return new SftExample(Arrays.copyOf(inputIds, n), Arrays.copyOf(labels, n));
    }

    private static boolean isPrefix(int[] a, int[] b) {
        return a.length <= b.length && Arrays.equals(a, 0, a.length, b, 0, a.length);
    }
}
