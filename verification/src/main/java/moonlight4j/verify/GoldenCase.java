package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.io.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One golden test case: a safetensors file written by the Python release (golden-data/FORMAT.md). Tensor names
 * are {@code in.*}, {@code param.*}, {@code out.*}, {@code state.*}; the {@code __metadata__} holds the kind, the
 * case's config and its tolerances as JSON strings.
 */
public final class GoldenCase implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final SafetensorsFile file;
    private final String kind;
    private final JsonNode config;
    private final ToleranceTable tolerances;
    private final Map<String, JsonNode> configUsed = new LinkedHashMap<>();

    private GoldenCase(Path path, SafetensorsFile file) {
        this.path = path;
        this.file = file;
        Map<String, String> md = file.metadata();
        this.kind = md.get("kind");
        if (kind == null || kind.isBlank()) throw malformed("metadata has no 'kind'");
        this.config = parse("config", true);
        this.tolerances = new ToleranceTable(parse("tolerance", true), path.toString());
    }

    /** Opens a case file; a file that is not a valid golden case fails with a message naming it. */
    public static GoldenCase open(Path path) throws IOException {
        SafetensorsFile f = Safetensors.open(path);
        try {
            return new GoldenCase(path, f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private JsonNode parse(String key, boolean required) {
        String s = file.metadata().get(key);
        if (s == null) {
            if (required) throw malformed("metadata has no '" + key + "'");
            return null;
        }
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw malformed("metadata '" + key + "' is not valid JSON: " + e.getMessage());
        }
    }

    private IllegalArgumentException malformed(String why) {
        return new IllegalArgumentException(path + ": " + why);
    }

    /** The file name without {@code .safetensors}, e.g. {@code newton_schulz__64x96}. */
    public String name() {
        String f = path.getFileName().toString();
        return f.endsWith(".safetensors") ? f.substring(0, f.length() - ".safetensors".length()) : f;
    }

    public Path path() {
        return path;
    }

    public String kind() {
        return kind;
    }

    public Map<String, String> metadata() {
        return file.metadata();
    }

    /** The {@code config} metadata, parsed. */
    public JsonNode config() {
        return config;
    }

    /**
     * A required config field, or an error naming the case and the field. Each field read this way is recorded
     * ({@link #configUsed()}), so {@code verify --verbose} can print what a runner relied on.
     */
    public JsonNode config(String field) {
        JsonNode n = config.get(field);
        if (n == null || n.isNull()) throw malformed("config has no '" + field + "'");
        configUsed.put(field, n);
        return n;
    }

    /** The config fields read through {@link #config(String)}, in order of first use. */
    public Map<String, JsonNode> configUsed() {
        return Collections.unmodifiableMap(configUsed);
    }

    /** The {@code tolerance} metadata, parsed. */
    public ToleranceTable tolerances() {
        return tolerances;
    }

    public boolean has(String name) {
        return file.has(name);
    }

    /** Every tensor name, in file order. */
    public List<String> names() {
        return file.names();
    }

    /** Tensor names starting with {@code prefix}, sorted. */
    public List<String> names(String prefix) {
        return file.names().stream().filter(n -> n.startsWith(prefix)).sorted().toList();
    }

    public TensorInfo info(String name) {
        return file.info(name);
    }

    /** A copy of the tensor on {@code be}, in the file's dtype. */
    public Tensor tensor(Backend be, String name) {
        return file.load(be, name);
    }

    /** An integer tensor (I64 or I32) as longs, read from the file without a backend. */
    public long[] longs(String name) {
        TensorInfo t = file.info(name);
        ByteBuffer b = file.bytes(name);
        long[] out = new long[Math.toIntExact(t.numel())];
        switch (t.dtype()) {
            case I64 -> { for (int i = 0; i < out.length; i++) out[i] = b.getLong(8 * i); }
            case I32 -> { for (int i = 0; i < out.length; i++) out[i] = b.getInt(4 * i); }
            default -> throw malformed("tensor '" + name + "' is " + t.dtype() + ", expected an integer tensor (I64/I32)");
        }
        return out;
    }

    /** Any tensor's elements as doubles (exact for F32, BF16, F64, I32; I64 up to 2^53), without a backend. */
    public double[] doubles(String name) {
        TensorInfo t = file.info(name);
        ByteBuffer b = file.bytes(name);
        double[] out = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.dtype()) {
                case F32 -> b.getFloat(4 * i);
                case F64 -> b.getDouble(8 * i);
                case BF16 -> Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                case I32 -> b.getInt(4 * i);
                case I64 -> b.getLong(8 * i);
            };
        }
        return out;
    }

    /** Raw bits of a BF16 tensor. */
    public short[] bf16Bits(String name) {
        TensorInfo t = file.info(name);
        if (t.dtype() != DType.BF16) throw malformed("tensor '" + name + "' is " + t.dtype() + ", expected BF16");
        ByteBuffer b = file.bytes(name);
        short[] out = new short[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) out[i] = b.getShort(2 * i);
        return out;
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return name() + " (" + kind + ")";
    }
}
