package moonlight4j.io;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code model.safetensors.index.json} of a sharded HF checkpoint:
 * {@code {"metadata": {"total_size": bytes}, "weight_map": {tensor name: shard file name}}}.
 *
 * @param totalSize  {@code metadata.total_size} (sum of tensor byte sizes), −1 when absent
 * @param weightMap  tensor name → shard file name, in file order
 */
record HfIndex(long totalSize, Map<String, String> weightMap) {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Largest JSON file read (config or index): the safetensors header limit. */
    static final long MAX_JSON_BYTES = StrictJson.MAX_BYTES;

    /** Reads and validates an index file (untrusted: shard names must be plain file names). */
    static HfIndex read(Path file) throws IOException {
        JsonNode root = readJson(file);
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw SafetensorsException.of(file, "expected an object 'weight_map': {tensor name: shard file}, found "
                    + (wm == null ? "none" : wm.getNodeType()));
        }
        long total = -1;
        JsonNode meta = root.get("metadata");
        if (meta != null && !meta.isNull()) {
            JsonNode ts = meta.get("total_size");
            if (ts != null && !ts.isNull()) {
                if (!ts.canConvertToExactIntegral() || !ts.canConvertToLong() || ts.asLong() < 0) {
                    throw SafetensorsException.of(file, "metadata.total_size must be a non-negative integer, found " + ts);
                }
                total = ts.asLong();
            }
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw SafetensorsException.of(file, e.getKey(), "weight_map value must be a shard file name, found " + v);
            }
            String shard = v.asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals(".") || shard.equals("..")) {
                throw SafetensorsException.of(file, e.getKey(), "weight_map value '" + shard
                        + "' must be a file name in the checkpoint directory, without a path");
            }
            int bad = firstControlChar(shard);
            if (bad >= 0) {
                throw SafetensorsException.of(file, e.getKey(), "weight_map value " + JSON.writeValueAsString(shard)
                        + " must be a file name without control characters, found U+"
                        + String.format("%04X", (int) shard.charAt(bad)) + " at index " + bad);
            }
            map.put(e.getKey(), shard);
        }
        return new HfIndex(total, Collections.unmodifiableMap(map));
    }

    /** Index of the first control character (U+0000–U+001F, U+007F) in {@code s}, or −1. */
    private static int firstControlChar(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7F) return i;
        }
        return -1;
    }

    /** Writes the index as {@code json.dumps(index, indent=2, sort_keys=True)} does (HF save_pretrained). */
    void write(Path file) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode wm = root.putObject("weight_map");
        new TreeMap<>(weightMap).forEach(wm::put);
        Files.writeString(file, pretty(root) + "\n", StandardCharsets.UTF_8);
    }

    /** Two-space indent and {@code "key": value}, as Python's json.dumps(indent=2). */
    static String pretty(JsonNode node) throws IOException {
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
                .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"))
                .withObjectIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"));
        return JSON.writer(pp).writeValueAsString(node);
    }

    /** Parses a JSON object from {@code file}: strict UTF-8 and JSON, capped at {@link #MAX_JSON_BYTES}. */
    static JsonNode readJson(Path file) throws IOException {
        return StrictJson.readObject(file);
    }
}
