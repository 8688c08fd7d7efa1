package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import moonlight4j.tokenizer.TiktokenLoader;
import moonlight4j.tokenizer.Tokenizer;

/**
 * Checks a golden {@code tokenizer__*.jsonl} file (golden-data/FORMAT.md §3.11): loads the vocabulary from the
 * metadata's {@code vocab_dir} (relative to the file) through {@link TiktokenLoader}, then for every case compares,
 * exactly, {@code ids_allowed_special} with {@link Tokenizer#encode}, {@code ids_ordinary} with
 * {@link Tokenizer#encodeOrdinary}, and {@code text} with the decoding of both golden id lists.
 */
public final class TokenizerGolden {

    /** Mismatch descriptions kept beyond the first (the count is always complete). */
    private static final int MAX_DESCRIPTIONS = 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param cases        number of cases (lines after the metadata line)
     * @param mismatches   number of failed comparisons (up to 4 per case: two encodings, two decodings)
     * @param descriptions the first mismatches, described (case number, text, expected, got)
     */
    public record Result(int cases, int mismatches, List<String> descriptions) {
        public boolean passed() {
            return mismatches == 0 && cases > 0;
        }

        /** The first mismatch described, or null when there is none. */
        public String firstMismatch() {
            return descriptions.isEmpty() ? null : descriptions.get(0);
        }
    }

    private TokenizerGolden() {}

    /**
     * The mismatches of {@link #check} as a list of descriptions (empty = pass), for a verifier that wants one line
     * per problem; a file without cases is one problem, and descriptions left out are counted in a last line.
     */
    public static List<String> mismatches(Path jsonlFile) throws IOException {
        Result r = check(jsonlFile);
        if (r.cases() == 0) return List.of(jsonlFile.getFileName() + ": no cases");
        var out = new ArrayList<>(r.descriptions());
        if (r.mismatches() > out.size()) out.add("… and " + (r.mismatches() - out.size()) + " more mismatches");
        return out;
    }

    public static Result check(Path jsonlFile) throws IOException {
        List<String> lines = Files.readAllLines(jsonlFile, StandardCharsets.UTF_8);
        if (lines.isEmpty()) throw new IOException(jsonlFile + ": empty file (expected a __metadata__ line)");
        JsonNode md = JSON.readTree(lines.get(0)).get("__metadata__");
        if (md == null || !"tokenizer".equals(md.path("kind").asText())) {
            throw new IOException(jsonlFile + ":1: expected {\"__metadata__\": {\"kind\": \"tokenizer\", …}}");
        }
        if (!md.path("vocab_dir").isTextual()) throw new IOException(jsonlFile + ":1: __metadata__.vocab_dir missing");
        Path base = jsonlFile.toAbsolutePath().getParent();
        Tokenizer tokenizer = TiktokenLoader.load(base.resolve(md.get("vocab_dir").asText()));

        int cases = 0;
        int mismatches = 0;
        var descriptions = new ArrayList<String>();
        for (int n = 1; n < lines.size(); n++) {
            if (lines.get(n).isBlank()) continue;
            cases++;
            JsonNode c = JSON.readTree(lines.get(n));
            String where = jsonlFile.getFileName() + ":" + (n + 1);
            if (!c.path("text").isTextual()) throw new IOException(where + ": case has no \"text\"");
            String text = c.get("text").asText();
            int[] allowed = ids(c, "ids_allowed_special", where);
            int[] ordinary = ids(c, "ids_ordinary", where);
            List<String> found = new ArrayList<>();
            compare(found, where, text, "encode (allowed_special=all)", allowed, tokenizer.encode(text));
            compare(found, where, text, "encodeOrdinary", ordinary, tokenizer.encodeOrdinary(text));
            decodes(found, where, text, "decode(ids_allowed_special)", tokenizer, allowed);
            decodes(found, where, text, "decode(ids_ordinary)", tokenizer, ordinary);
            mismatches += found.size();
            for (String f : found) if (descriptions.size() < MAX_DESCRIPTIONS) descriptions.add(f);
        }
        return new Result(cases, mismatches, List.copyOf(descriptions));
    }

    private static int[] ids(JsonNode c, String field, String where) throws IOException {
        JsonNode a = c.get(field);
        if (a == null || !a.isArray()) throw new IOException(where + ": case has no array \"" + field + "\"");
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            if (!a.get(i).canConvertToInt()) throw new IOException(where + ": " + field + "[" + i + "] is not an int");
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    private static void compare(List<String> found, String where, String text, String what, int[] expected, int[] got) {
        if (Arrays.equals(expected, got)) return;
        int at = Arrays.mismatch(expected, got);
        found.add(where + " " + what + " of " + quote(text) + ": ids differ from position " + at + ": expected "
                + Arrays.toString(expected) + ", got " + Arrays.toString(got));
    }

    private static void decodes(List<String> found, String where, String text, String what, Tokenizer t, int[] ids) {
        String got;
        try {
            got = t.decode(ids);
        } catch (IllegalArgumentException e) {
            found.add(where + " " + what + " failed: " + e.getMessage());
            return;
        }
        if (!got.equals(text)) found.add(where + " " + what + ": expected " + quote(text) + ", got " + quote(got));
    }

    private static String quote(String s) {
        String q = s.length() > 120 ? s.substring(0, 120) + "…" : s;
        return JSON.getNodeFactory().textNode(q).toString();
    }
}
