package moonlight4j.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A checkpoint's {@code trainer_state.json} read strictly: one JSON object (a truncated or garbled file is an error
 * naming it), and each field read through a typed accessor that names the file, the field and what was expected —
 * so a resume never runs on a negative step, a step spelt as a string or a data position out of range.
 */
public final class TrainerStateJson {

    public static final String FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final JsonNode root;
    private final Path file;

    private TrainerStateJson(JsonNode root, Path file) {
        this.root = root;
        this.file = file;
    }

    /** Reads {@code checkpoint/trainer_state.json}. */
    public static TrainerStateJson read(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(FILE);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON, the file is truncated or damaged ("
                    + e.getOriginalMessage() + ", line " + e.getLocation().getLineNr() + ")");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IllegalArgumentException(file + ": not valid UTF-8, the file is damaged");
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException(file + ": expected a JSON object");
        return new TrainerStateJson(root, file);
    }

    /** The file, for messages. */
    public Path file() {
        return file;
    }

    /** The raw tree (for comparing fields). */
    public JsonNode tree() {
        return root;
    }

    public boolean has(String field) {
        return root.has(field);
    }

    /** {@code field}, an integer in {@code [min, max]}. */
    public long integer(String field, long min, long max) {
        JsonNode v = root.get(field);
        if (v == null) throw error(field, "is missing; expected an integer in [" + min + ", " + max + "]");
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw error(field, "must be an integer in [" + min + ", " + max + "], got " + v);
        }
        return v.asLong();
    }

    /** {@code field}, an integer in {@code [min, max]}, or {@code absent} when the field is missing (older files). */
    public long integer(String field, long min, long max, long absent) {
        return root.has(field) ? integer(field, min, max) : absent;
    }

    /** {@code field}, a non-negative int. */
    public int count(String field) {
        return (int) integer(field, 0, Integer.MAX_VALUE);
    }

    /** {@code field}, a string. */
    public String text(String field) {
        JsonNode v = root.get(field);
        if (v == null || !v.isTextual()) {
            throw error(field, v == null ? "is missing; expected a string" : "must be a string, got " + v);
        }
        return v.asText();
    }

    /** An error about {@code field}: {@code file: "field" what}. */
    public IllegalArgumentException error(String field, String what) {
        return new IllegalArgumentException(file + ": \"" + field + "\" " + what);
    }

    /**
     * Writes {@code text} to {@code file} and forces it to disk before returning, so that a rename that follows
     * (of the file, or of the directory holding it) never publishes an empty or partial file after a power loss.
     */
    public static void writeDurably(Path file, String text) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            java.nio.ByteBuffer b = StandardCharsets.UTF_8.encode(text);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
    }
}
