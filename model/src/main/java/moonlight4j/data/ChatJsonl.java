package moonlight4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import moonlight4j.tokenizer.ChatMessage;

import com.fasterxml.jackson.core.JsonParser;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Reads conversations in ms-swift's JSON Lines format, one per line:
 * <pre>
 *   {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."},
 *                 {"role": "assistant", "content": "..."}, ...]}
 * </pre>
 * Roles: {@code system}, {@code user}, {@code assistant}; {@code content} a string. Blank lines are skipped. A line
 * that is not valid UTF-8, not exactly one JSON object (text after it, or a duplicate key, is bad too), lacks a
 * non-empty {@code messages} array, has a message without a string role/content, an unknown role, an empty (blank)
 * assistant turn, or no assistant turn at all is bad: an error naming the file and line, or — with
 * {@code skipBadLines} — counted in {@link Read#skipped()} with its reasons.
 */
public final class ChatJsonl {

    /** The roles the chat template renders (docs/tokenizer.md#chat-template). */
    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

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
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException("dataset " + file + " is a directory; expected a JSONL file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("dataset " + file + ": no such file; expected a JSONL file");
        }
        List<Conversation> out = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        int skipped = 0, lineNo = 0;
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            for (byte[] bytes; (bytes = nextLine(in)) != null; ) {
                lineNo++;
                try {
                    String line = decode(utf8, bytes);
                    if (line.isBlank()) continue;
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

    /** The bytes of the next line without its {@code \n} (and a {@code \r} before it), or null at the end. */
    private static byte[] nextLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') line.write(b);
        if (b == -1 && line.size() == 0) return null;
        byte[] out = line.toByteArray();
        return out.length > 0 && out[out.length - 1] == '\r' ? Arrays.copyOf(out, out.length - 1) : out;
    }

    /** Strict UTF-8: an invalid byte sequence is an error naming its byte offset (1-based column) in the line. */
    private static String decode(CharsetDecoder utf8, byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        utf8.reset();
        CoderResult r = utf8.decode(in, out, true);
        if (!r.isError()) r = utf8.flush(out);
        if (r.isError()) {
            int at = in.position();
            throw new IllegalArgumentException(String.format("not valid UTF-8: byte 0x%02x at byte %d of the line "
                    + "(expected UTF-8 text)", bytes[at] & 0xFF, at + 1));
        }
        return out.flip().toString();
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
        try (JsonParser p = MAPPER.getFactory().createParser(line)) {
            try {
                root = MAPPER.readTree(p);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
            }
            int end = (int) p.currentLocation().getCharOffset();
            while (end < line.length() && Character.isWhitespace(line.charAt(end))) end++;
            if (root != null && end < line.length()) {
                throw new IllegalArgumentException("text after the JSON object at column " + (end + 1)
                        + " (expected exactly one JSON object per line)");
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);               // reading a String does not fail
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
