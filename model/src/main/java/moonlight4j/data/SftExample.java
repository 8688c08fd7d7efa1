package moonlight4j.data;

import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

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
 */
public record SftExample(int[] inputIds, int[] labels) {

    /** {@code ignore_index} of the cross-entropy (docs/model.md#loss). */
    public static final int IGNORE = -100;

    /**
     * @param where the conversation's origin for error messages ({@code file:line})
     * @throws IllegalArgumentException if the template's renderings are not prefix-consistent
     */
    public static SftExample of(List<ChatMessage> messages, ChatTemplate template, Tokenizer tokenizer, String where) {
        int[] ids = template.encode(tokenizer, messages, false);
        int[] labels = new int[ids.length];
        Arrays.fill(labels, IGNORE);
        for (int k = 0; k < messages.size(); k++) {
            if (!messages.get(k).role().equals("assistant")) continue;
            int[] before = template.encode(tokenizer, messages.subList(0, k), true);   // context + reply opening
            int[] through = template.encode(tokenizer, messages.subList(0, k + 1), false);
            if (!isPrefix(before, through) || !isPrefix(through, ids)) {
                throw new IllegalArgumentException(where + ": the chat template's rendering of the first " + (k + 1)
                        + " messages is not a token prefix of the whole conversation; cannot locate assistant turn "
                        + k);
            }
            for (int i = before.length; i < through.length; i++) labels[i] = ids[i];
        }
        return new SftExample(ids, labels);
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
