package moonlight4j.tokenizer;

import java.util.Objects;

/**
 * One turn of a conversation, as in HF {@code messages}: {@code {"role": …, "content": …}}.
 *
 * @param role    {@code system}, {@code user} or {@code assistant} for the built-in Moonlight format; a Jinja template
 *                may accept others
 * @param content the text of the turn (may itself contain special-token text; it is not escaped)
 */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
