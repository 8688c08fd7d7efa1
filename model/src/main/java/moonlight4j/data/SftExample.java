package moonlight4j.data;

import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.EncodeWindows;
import moonlight4j.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * One tokenized conversation for supervised fine-tuning: the chat-template ids and, aligned with them (HF convention:
 * the loss shifts by one, docs/model.md#loss), labels equal to the id on assistant-turn tokens and {@link #IGNORE}
 * (−100) everywhere else — system and user turns and the template's markup before each assistant reply are context
 * only.
 *
 * <p>Assistant spans are found through the template itself, so a model directory's Jinja {@code chat_template}
 * works as well as the built-in format: for each assistant message k, the tokens of
 * {@code render(messages[..k], add_generation_prompt)} must be a prefix of those of {@code render(messages[..k])}, and
 * the rest — the reply and the template's end-of-turn markup ({@code <|im_end|>} in Moonlight's) — are learned.
 *
 * <p>Work is linear in the conversation's length for the built-in format: it is tokenized once and the assistant
 * spans are found by byte offsets, each message's block being known text. A Jinja template's output cannot be cut
 * by message, so there the prefixes are rendered and tokenized one by one; that stops at the first assistant turn
 * that starts at or past {@code maxLength} tokens, since a longer example is cut there and what lies past the cut is
 * never learned.
 */
public record SftExample(int[] inputIds, int[] labels) {

    /** {@code ignore_index} of the cross-entropy (docs/model.md#loss). */
    public static final int IGNORE = -100;

    /**
     * @param where the conversation's origin for error messages ({@code file:line})
     * @throws IllegalArgumentException if the template's renderings are not prefix-consistent
     */
    public static SftExample of(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer, String where) {
        return of(messages, template, tokenizer, tokenizer::encode, where, Integer.MAX_VALUE);
    }

    /**
     * {@link #of(List, ChatTemplate, Tokenizer, String)} for examples that will be cut at {@code maxLength} tokens:
     * assistant turns starting at or past the cut may be left unlabelled.
     */
    public static SftExample of(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer, String where,
                                int maxLength) {
        return of(messages, template, tokenizer, tokenizer::encode, where, maxLength);
    }

    /** The same with {@code tokenizer}'s {@code encode} given as a function (tests count what it is asked to do). */
    static SftExample of(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer,
                         Function<String, int[]> encode, String where, int maxLength) {
        int[] ids = encode.apply(template.render(messages, false));
        int[] labels = byBlocks(messages, template, tokenizer, ids);
        if (labels == null) labels = byPrefixes(messages, template, encode, where, ids, maxLength);
        return new SftExample(ids, labels);
    }

    /**
     * The labels from the built-in format's blocks, or null when that does not apply: a Jinja template, or a default
     * system prompt that only some prefixes would get (a system message after the first turn). The conversation is
     * tokenized once; each token's bytes give its offset in the text, and a token is learned when it starts inside
     * an assistant block after the block's opening ({@link ChatTemplate#generationPrompt()}). Special tokens begin
     * and end every block, so each such boundary is a token boundary and the labels are exactly those of the prefix
     * renderings; should one fall inside a token where the text was not cut into windows
     * ({@link moonlight4j.tokenizer.EncodeWindows}), null sends the conversation the prefix way. A cut can split a
     * special token into plain ones; those keep the label of the block they start in.
     */
    private static int[] byBlocks(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer, int[] ids) {
        List<String> blocks = template.blocks(messages).orElse(null);
        if (blocks == null) return null;
        int offset = blocks.size() - messages.size();                       // 1 when a default system prompt leads
        if (template.defaultSystemPrompt().isPresent() && offset == 0 && !messages.get(0).role().equals("system")) {
            return null;                     // a later system message: the prefixes before it get the default one
        }
        long[] from = new long[blocks.size()], to = new long[blocks.size()];     // learned byte ranges [from, to)
        long at = 0, opening = utf8Length(ChatTemplate.generationPrompt());
        int regions = 0;
        for (int b = 0; b < blocks.size(); b++) {
            long end = at + utf8Length(blocks.get(b));
            int k = b - offset;
            if (k >= 0 && messages.get(k).role().equals("assistant")) {
                if (!blocks.get(b).startsWith(ChatTemplate.generationPrompt())) return null;
                from[regions] = at + opening;
                to[regions++] = end;
            }
            at = end;
        }
        int[] labels = new int[ids.length];
        Arrays.fill(labels, IGNORE);
        long pos = 0;
        boolean straddles = false;
        for (int i = 0, r = 0; i < ids.length; i++) {
            long next = pos + tokenizer.tokenByteLength(ids[i]);
            while (r < regions && to[r] <= pos) r++;
            if (r < regions && pos >= from[r]) labels[i] = ids[i];
            if (r < regions && (pos < from[r] && next > from[r] || pos < to[r] && next > to[r])) straddles = true;
            pos = next;
        }
        if (pos != at) return null;                                         // not the text's bytes: the prefix way
        if (straddles && EncodeWindows.split(template.render(messages, false)).size() <= 1) return null;
        return labels;
    }

    /** UTF-8 bytes of {@code s} as the tokenizer sees it (a lone surrogate becomes U+FFFD, 3 bytes). */
    private static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
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
