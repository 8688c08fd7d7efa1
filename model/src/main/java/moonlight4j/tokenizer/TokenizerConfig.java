package moonlight4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The parts of an HF {@code tokenizer_config.json} that Moonlight's tokenizer reads (docs/tokenizer.md).
 *
 * @param addedTokens  {@code added_tokens_decoder}: id → {@code content}
 * @param bosToken     {@code bos_token} (a string or an {@code AddedToken} object); {@code [BOS]} when absent or null,
 *                     the Python constructor's default
 * @param eosToken     {@code eos_token}; {@code [EOS]} when absent or null
 * @param chatTemplate {@code chat_template} (a Jinja string, or the {@code "default"} entry of a list of named
 *                     templates), if any
 */
public record TokenizerConfig(Map<Integer, String> addedTokens, String bosToken, String eosToken,
                              Optional<String> chatTemplate) {

    public TokenizerConfig {
        addedTokens = Collections.unmodifiableMap(new TreeMap<>(addedTokens));
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads and checks {@code file}; every error names the file and the field. */
    public static TokenizerConfig read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("tokenizer config " + file + " does not exist (expected tokenizer_config.json "
                    + "with added_tokens_decoder next to tiktoken.model)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": expected a JSON object at the top level");
        }
        var added = new TreeMap<Integer, String>();
        JsonNode decoder = root.get("added_tokens_decoder");
        if (decoder != null && !decoder.isNull()) {
            if (!decoder.isObject()) {
                throw new IOException(file + ": added_tokens_decoder must be an object of id -> {content, …}");
            }
            var fields = decoder.fields();
            while (fields.hasNext()) {
                var e = fields.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new IOException(file + ": added_tokens_decoder key \"" + e.getKey() + "\" is not an integer id");
                }
                JsonNode content = e.getValue().get("content");
                if (content == null || !content.isTextual()) {
                    throw new IOException(file + ": added_tokens_decoder[" + id + "].content is missing or not a string");
                }
                added.put(id, content.asText());
            }
        }
        return new TokenizerConfig(added,
                tokenName(root, "bos_token", SpecialTokens.BOS, file),
                tokenName(root, "eos_token", SpecialTokens.EOS, file),
                chatTemplate(root, file));
    }

    private static String tokenName(JsonNode root, String field, String fallback, Path file) throws IOException {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) return fallback;
        if (node.isTextual()) return node.asText();
        if (node.isObject() && node.get("content") != null && node.get("content").isTextual()) {
            return node.get("content").asText();
        }
        throw new IOException(file + ": " + field + " must be a string or an object with a string \"content\"");
    }

    private static Optional<String> chatTemplate(JsonNode root, Path file) throws IOException {
        JsonNode node = root.get("chat_template");
        if (node == null || node.isNull()) return Optional.empty();
        if (node.isTextual()) return Optional.of(node.asText());
        if (node.isArray()) {
            for (JsonNode entry : node) {
                if ("default".equals(entry.path("name").asText(null)) && entry.path("template").isTextual()) {
                    return Optional.of(entry.get("template").asText());
                }
            }
            throw new IOException(file + ": chat_template is a list without an entry named \"default\"");
        }
        throw new IOException(file + ": chat_template must be a string or a list of {name, template}");
    }
}
