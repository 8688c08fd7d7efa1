package moonlight4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import moonlight4j.tokenizer.ChatMessage;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads conversations in ms-swift's JSON Lines format, one per line:
 * <pre>
 *   {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."},
 *                 {"role": "assistant", "content": "..."}, ...]}
 * </pre>
 * Roles: {@code system}, {@code user}, {@code assistant}; {@code content} a string. Blank lines are skipped. A line
 * that is not a JSON object, lacks a non-empty {@code messages} array, has a message without a string role/content,
 * an unknown role, an empty (blank) assistant turn, or no assistant turn at all is bad: an error naming the file and
 * line, or — with {@code skipBadLines} — counted in {@link Read#skipped()} with its reasons.
 */
public final class ChatJsonl {

    /** The roles the chat template renders (docs/tokenizer.md#chat-template). */
    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One conversation and the line it came from (1-based). */
    public record Conversation(List<ChatMessage> messages, Path file, int line) {
        public String where() {
            return file + ":" + line;
        }
    }

    /** The good conversations, how many lines were skipped and why ({@code file:line: reason}, the first 20). */
    public record Read(List<Conversation> conversations, int skipped, List<String> skipReasons) {
    }

    private ChatJsonl() {
    }

    /**
     * Reads {@code file}.
     *
     * @throws IllegalArgumentException {@code file:line: reason} for the first bad line unless skipBadLines
     */
    public static Read read(Path file, boolean skipBadLines) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("dataset file " + file + " does not exist");
        List<Conversation> out = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        int skipped = 0, lineNo = 0;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                try {
                    out.add(new Conversation(parse(line), file, lineNo));
                } catch (IllegalArgumentException e) {
                    String msg = file + ":" + lineNo + ": " + e.getMessage();
                    if (!skipBadLines) throw new IllegalArgumentException(msg + " (or pass --skip-bad-lines)");
                    skipped++;
                    if (reasons.size() < 20) reasons.add(msg);
                }
            }
        }
        return new Read(out, skipped, reasons);
    }

    /** One line's conversation. @throws IllegalArgumentException saying what is wrong (without the location) */
    public static List<ChatMessage> parse(String line) {
        return parse(line, true);
    }

    /**
     * A conversation to continue (e.g. {@code generate --chat --messages}): the same format and checks, except that
     * it need not contain an assistant turn.
     */
    public static List<ChatMessage> parseMessages(String json) {
        return parse(json, false);
    }

    private static List<ChatMessage> parse(String line, boolean needAssistant) {
        JsonNode root;
        try {
            root = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("expected a JSON object");
        JsonNode msgs = root.get("messages");
        if (msgs == null) throw new IllegalArgumentException("no \"messages\" field");
        if (!msgs.isArray() || msgs.isEmpty()) {
            throw new IllegalArgumentException("\"messages\" must be a non-empty array");
        }
        List<ChatMessage> messages = new ArrayList<>();
        boolean hasAssistant = false;
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            JsonNode role = m.get("role"), content = m.get("content");
            if (!m.isObject() || role == null || !role.isTextual() || content == null || !content.isTextual()) {
                throw new IllegalArgumentException("message " + i + " must be an object with string \"role\" and "
                        + "\"content\"");
            }
            if (!ROLES.contains(role.asText())) {
                throw new IllegalArgumentException("message " + i + " has unknown role \"" + role.asText()
                        + "\" (expected system, user or assistant)");
            }
            if (role.asText().equals("assistant")) {
                if (content.asText().isBlank()) {
                    throw new IllegalArgumentException("message " + i + " is an empty assistant turn");
                }
                hasAssistant = true;
            }
            messages.add(new ChatMessage(role.asText(), content.asText()));
        }
        if (needAssistant && !hasAssistant) throw new IllegalArgumentException("no assistant turn (nothing to learn)");
        return messages;
    }
}
