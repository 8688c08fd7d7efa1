package moonlight4j.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * Writes a tokenizer as a model directory's {@code tiktoken.model} + {@code tokenizer_config.json}, in the form
 * {@link TiktokenLoader} (and Moonlight's Python class) reads: ranks as {@code base64(bytes) rank} lines, every
 * special id in {@code added_tokens_decoder}, {@code bos_token}/{@code eos_token} by name.
 */
public final class TiktokenWriter {

    private TiktokenWriter() {}

    /** Writes both files into {@code dir} (created if needed), replacing existing ones. */
    public static void write(Tokenizer tokenizer, Path dir) throws IOException {
        write(tokenizer, dir, null);
    }

    /** The same, with a Jinja {@code chat_template} (or none when {@code chatTemplate} is null). */
    public static void write(Tokenizer tokenizer, Path dir, String chatTemplate) throws IOException {
        Files.createDirectories(dir);
        Base64.Encoder base64 = Base64.getEncoder();
        try (Writer w = Files.newBufferedWriter(dir.resolve(TiktokenLoader.RANKS_FILE), StandardCharsets.US_ASCII)) {
            for (int r = 0; r < tokenizer.numBaseTokens(); r++) {
                w.write(base64.encodeToString(tokenizer.tokenBytes(r)));
                w.write(' ');
                w.write(Integer.toString(r));
                w.write('\n');
            }
        }
        var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("tokenizer_class", "TikTokenTokenizer");
        root.putArray("auto_map").add("tokenization_moonshot.TikTokenTokenizer").addNull();
        SpecialTokens specials = tokenizer.specialTokens();
        root.put("bos_token", specials.name(tokenizer.bosId()));
        root.put("eos_token", specials.name(tokenizer.eosId()));
        ObjectNode added = root.putObject("added_tokens_decoder");
        specials.idByName().forEach((name, id) -> {
            ObjectNode t = added.putObject(Integer.toString(id));
            t.put("content", name);
            t.put("lstrip", false);
            t.put("normalized", false);
            t.put("rstrip", false);
            t.put("single_word", false);
            t.put("special", true);
        });
        if (chatTemplate != null) root.put("chat_template", chatTemplate);
        json.writeValue(dir.resolve(TiktokenLoader.CONFIG_FILE).toFile(), root);
    }
}
