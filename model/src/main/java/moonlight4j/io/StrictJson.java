package moonlight4j.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the JSON files of an HF checkpoint ({@code config.json}, {@code model.safetensors.index.json}) and the
 * safetensors header text as untrusted input: at most {@link #MAX_BYTES}, strict UTF-8 (no byte-order mark, no
 * UTF-16/32, no malformed or overlong sequence, no encoded surrogate), strict JSON (RFC 8259: no comments, NaN,
 * single quotes or trailing commas; a name may not repeat in an object) and exactly one top-level value. Jackson
 * alone would guess UTF-16/32 from the first bytes, skip a BOM and let a repeated name overwrite the first.
 */
public final class StrictJson {

    /** Largest JSON file read: the safetensors header limit, 100 MB. */
    public static final long MAX_BYTES = Safetensors.MAX_HEADER_BYTES;

    /** Repeated names are errors; everything else is Jackson's default, which is already strict RFC 8259. */
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private StrictJson() {
    }

    /** Reads {@code file} as one JSON object; a {@link SafetensorsException} names the file and what is wrong. */
    public static ObjectNode readObject(Path file) throws SafetensorsException {
        if (!Files.isRegularFile(file)) {
            throw SafetensorsException.of(file, Files.exists(file) ? "not a regular file" : "no such file");
        }
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw SafetensorsException.of(file, size + " bytes exceed the limit of " + MAX_BYTES + " for a JSON file");
            }
            bytes = Files.readAllBytes(file);
        } catch (SafetensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot read: " + reason(e), e);
        }
        return parseObject(bytes, file.toString());
    }

    /** Parses {@code bytes} as one JSON object; {@code source} names the input in error messages. */
    public static ObjectNode parseObject(byte[] bytes, String source) throws SafetensorsException {
        JsonNode root;
        checkUtf8(bytes, source);            // after this Jackson's own encoding detection can only find UTF-8
        try (JsonParser p = MAPPER.createParser(bytes)) {
            root = MAPPER.readTree(p);
            if (root != null && p.nextToken() != null) {
                throw new SafetensorsException(source + ": content after the JSON value at line "
                        + p.currentLocation().getLineNr() + ", column " + p.currentLocation().getColumnNr()
                        + ", expected exactly one JSON object");
            }
        } catch (SafetensorsException e) {
            throw e;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) { // incl. repeated names, stream constraints
            throw new SafetensorsException(source + ": not valid JSON: " + firstLine(e.getOriginalMessage())
                    + at(e.getLocation()), e);
        } catch (IOException e) {
            throw new SafetensorsException(source + ": not valid JSON: " + reason(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(source + ": expected a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        return (ObjectNode) root;
    }

    /**
     * Checks that {@code bytes} are strict UTF-8 without a byte-order mark: a BOM or the NUL bytes of UTF-16/32 text
     * are named as such, any other malformed sequence by its byte offset. Decodes through a fixed 8 K-char buffer,
     * so a 100 MB header costs no copy.
     */
    static void checkUtf8(byte[] bytes, String source) throws SafetensorsException {
        String encoding = bomOrWideEncoding(bytes);
        if (encoding != null) {
            throw new SafetensorsException(source + ": text is " + encoding + ", expected UTF-8 without a byte-order mark");
        }
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(8192);
        CoderResult r;
        do {
            out.clear();
            r = dec.decode(in, out, true);
        } while (r.isOverflow());
        if (!r.isError()) {
            out.clear();
            r = dec.flush(out);
        }
        if (r.isError()) {
            throw new SafetensorsException(source + ": text is not valid UTF-8: malformed sequence of " + r.length()
                    + " byte(s) at byte offset " + in.position());
        }
    }

    /** The encoding a BOM or a NUL byte among the first four announces, or null. */
    private static String bomOrWideEncoding(byte[] b) {
        if (startsWith(b, 0xEF, 0xBB, 0xBF)) return "UTF-8 with a byte-order mark";
        if (startsWith(b, 0x00, 0x00, 0xFE, 0xFF) || startsWith(b, 0xFF, 0xFE, 0x00, 0x00)) {
            return "UTF-32 (byte-order mark)";
        }
        if (startsWith(b, 0xFE, 0xFF) || startsWith(b, 0xFF, 0xFE)) return "UTF-16 (byte-order mark)";
        for (int i = 0; i < Math.min(4, b.length); i++) {
            if (b[i] == 0) return "UTF-16 or UTF-32 (NUL bytes at its start)";
        }
        return null;
    }

    private static boolean startsWith(byte[] b, int... prefix) {
        if (b.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if ((b[i] & 0xFF) != prefix[i]) return false;
        return true;
    }

    private static String at(com.fasterxml.jackson.core.JsonLocation l) {
        return l == null ? "" : " (line " + l.getLineNr() + ", column " + l.getColumnNr() + ")";
    }

    private static String firstLine(String s) {
        if (s == null) return "malformed input";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** A file-system error as words: Java's messages for these are often just the path. */
    static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file";
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) return f.getReason();
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
