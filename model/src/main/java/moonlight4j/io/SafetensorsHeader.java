package moonlight4j.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import moonlight4j.api.DType;

/**
 * The parsed and validated JSON header of a safetensors file (HF spec, github.com/huggingface/safetensors):
 *
 * <pre>{"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}</pre>
 *
 * The header is untrusted input: it must be strict UTF-8 ({@link StrictJson#checkUtf8}) and strict JSON, it is read
 * with a streaming parser, every number is range-checked before it is
 * used, and the offsets must tile the data block exactly (sorted by begin: the first begins at 0, each begins where
 * the previous one ends, the last ends at the end of the data block), as the reference implementation requires.
 *
 * @param metadata the {@code __metadata__} strings in file order; empty when absent
 * @param tensors  the entries sorted by data offset
 */
record SafetensorsHeader(Map<String, String> metadata, List<TensorInfo> tensors) {

    static final String METADATA_KEY = "__metadata__";

    /** Dtype names of the safetensors spec that moonlight4j does not read. */
    static final Set<String> UNSUPPORTED_SPEC_DTYPES = Set.of("BOOL", "U8", "I8", "I16", "U16", "F16", "U32", "U64",
            "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64");

    /**
     * Jackson's default caps (20 M chars per string, 50 k per name) would reject legal headers; the header size is
     * already capped at {@link Safetensors#MAX_HEADER_BYTES}, which bounds every string, so the caps follow it.
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength((int) Safetensors.MAX_HEADER_BYTES)
                    .maxNameLength((int) Safetensors.MAX_HEADER_BYTES)
                    .build())
            .build();

    /**
     * Parses {@code json} (the header bytes, padding included) of {@code file}, whose data block is
     * {@code dataLength} bytes long.
     */
    static SafetensorsHeader parse(Path file, byte[] json, long dataLength) throws SafetensorsException {
        Map<String, String> metadata = Collections.emptyMap();
        List<TensorInfo> tensors = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        StrictJson.checkUtf8(json, file + ": header");   // strict UTF-8: no BOM, no UTF-16/32
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw SafetensorsException.of(file, "header must be a JSON object, found " + describe(p.currentToken()));
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (!seen.add(name)) {
                    throw SafetensorsException.of(file, name, "appears twice in the header, expected unique names");
                }
                p.nextToken();
                if (name.equals(METADATA_KEY)) {
                    metadata = parseMetadata(file, p);
                } else {
                    tensors.add(parseEntry(file, name, p, dataLength));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                throw SafetensorsException.of(file, "header is not valid JSON: unexpected " + describe(p.currentToken()));
            }
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw SafetensorsException.of(file, "header has content after its JSON object: " + describe(trailing)
                        + ", expected only space padding");
            }
        } catch (SafetensorsException e) {
            throw e;
        } catch (IOException e) { // JsonParseException, StreamConstraintsException
            throw new SafetensorsException(file + ": header is not valid JSON: " + e.getMessage(), e);
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkCoverage(file, tensors, dataLength);
        return new SafetensorsHeader(metadata, Collections.unmodifiableList(tensors));
    }

    // ---------------------------------------------------------------- pieces

    private static Map<String, String> parseMetadata(Path file, JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) return Collections.emptyMap();
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw SafetensorsException.of(file, METADATA_KEY + " must be an object of strings, found " + describe(p.currentToken()));
        }
        Map<String, String> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            if (v != JsonToken.VALUE_STRING) {
                throw SafetensorsException.of(file, METADATA_KEY + "['" + key + "'] must be a string, found " + describe(v));
            }
            if (m.put(key, p.getText()) != null) {
                throw SafetensorsException.of(file, METADATA_KEY + "['" + key + "'] appears twice, expected unique keys");
            }
        }
        return Collections.unmodifiableMap(m);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonParser p, long dataLength) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw SafetensorsException.of(file, name, "entry must be an object {dtype, shape, data_offsets}, found "
                    + describe(p.currentToken()));
        }
        DType dtype = null;
        int[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (dtype != null) throw SafetensorsException.of(file, name, "field 'dtype' appears twice");
                    if (v != JsonToken.VALUE_STRING) {
                        throw SafetensorsException.of(file, name, "dtype must be a string, found " + describe(v));
                    }
                    dtype = parseDType(file, name, p.getText());
                }
                case "shape" -> {
                    if (shape != null) throw SafetensorsException.of(file, name, "field 'shape' appears twice");
                    shape = parseShape(file, name, p);
                }
                case "data_offsets" -> {
                    if (offsets != null) throw SafetensorsException.of(file, name, "field 'data_offsets' appears twice");
                    offsets = parseOffsets(file, name, p);
                }
                default -> throw SafetensorsException.of(file, name, "unexpected field '" + field
                        + "', expected only dtype, shape, data_offsets");
            }
        }
        if (dtype == null) throw SafetensorsException.of(file, name, "missing field 'dtype'");
        if (shape == null) throw SafetensorsException.of(file, name, "missing field 'shape'");
        if (offsets == null) throw SafetensorsException.of(file, name, "missing field 'data_offsets'");
        long begin = offsets[0], end = offsets[1];
        if (end > dataLength) {
            throw SafetensorsException.of(file, name, "data_offsets [" + begin + ", " + end
                    + "] lie outside the data block of " + dataLength + " bytes");
        }
        long numel = 1;
        for (int d : shape) {
            numel = multiplyOrFail(file, name, numel, d, shape);
        }
        long expected = multiplyOrFail(file, name, numel, dtype.byteSize(), shape);
        if (end - begin != expected) {
            throw SafetensorsException.of(file, name, "data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes, expected " + expected + " = " + numel + " elements of " + Arrays.toString(shape)
                    + " × " + dtype.byteSize() + " bytes (" + dtype + ")");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long multiplyOrFail(Path file, String name, long a, int b, int[] shape) throws SafetensorsException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw SafetensorsException.of(file, name, "shape " + Arrays.toString(shape)
                    + " has more elements (or bytes) than a 64-bit count holds");
        }
    }

    static DType parseDType(Path file, String name, String s) throws SafetensorsException {
        for (DType d : DType.values()) {
            if (d.name().equals(s)) return d;
        }
        if (UNSUPPORTED_SPEC_DTYPES.contains(s)) {
            throw SafetensorsException.of(file, name, "dtype " + s + " is a safetensors dtype that moonlight4j does not"
                    + " support, expected one of " + Arrays.toString(DType.values()));
        }
        throw SafetensorsException.of(file, name, "unknown dtype '" + s + "', expected one of "
                + Arrays.toString(DType.values()));
    }

    private static int[] parseShape(Path file, String name, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw SafetensorsException.of(file, name, "shape must be an array of non-negative integers, found "
                    + describe(p.currentToken()));
        }
        int[] dims = new int[4];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            long d = nonNegativeLong(file, name, "shape", p, t);
            if (d > Integer.MAX_VALUE) {
                throw SafetensorsException.of(file, name, "shape dimension " + d + " exceeds " + Integer.MAX_VALUE);
            }
            if (n == dims.length) dims = Arrays.copyOf(dims, 2 * n); // bounded by the header size, already capped
            dims[n++] = (int) d;
        }
        return Arrays.copyOf(dims, n);
    }

    private static long[] parseOffsets(Path file, String name, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw SafetensorsException.of(file, name, "data_offsets must be an array [begin, end], found "
                    + describe(p.currentToken()));
        }
        long[] o = new long[2];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (n == 2) throw SafetensorsException.of(file, name, "data_offsets has more than 2 entries, expected [begin, end]");
            o[n++] = nonNegativeLong(file, name, "data_offsets", p, t);
        }
        if (n != 2) throw SafetensorsException.of(file, name, "data_offsets has " + n + " entries, expected [begin, end]");
        if (o[0] > o[1]) {
            throw SafetensorsException.of(file, name, "data_offsets [" + o[0] + ", " + o[1] + "] end before they begin");
        }
        return o;
    }

    private static long nonNegativeLong(Path file, String name, String field, JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw SafetensorsException.of(file, name, field + " must hold non-negative integers, found " + describe(t)
                    + (t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_STRING ? " " + p.getText() : ""));
        }
        JsonParser.NumberType nt = p.getNumberType();
        if (nt == JsonParser.NumberType.BIG_INTEGER) {
            throw SafetensorsException.of(file, name, field + " value " + p.getText() + " is out of range");
        }
        long v = p.getLongValue();
        if (v < 0 || p.getText().startsWith("-")) { // "-0" too: the reference reads these as unsigned integers
            throw SafetensorsException.of(file, name, field + " value " + p.getText() + " is negative, expected ≥ 0");
        }
        return v;
    }

    /** The offsets, sorted, must tile [0, dataLength) with no overlap and no hole. */
    private static void checkCoverage(Path file, List<TensorInfo> sorted, long dataLength) throws SafetensorsException {
        long at = 0;
        String previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < at) {
                throw SafetensorsException.of(file, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + "] overlap tensor '" + previous + "' which ends at " + at);
            }
            if (t.begin() > at) {
                throw SafetensorsException.of(file, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + "] leave a hole [" + at + ", " + t.begin() + ") in the data block"
                        + (previous == null ? "" : " after tensor '" + previous + "'") + ", expected begin " + at);
            }
            at = t.end();
            previous = t.name();
        }
        if (at != dataLength) {
            throw SafetensorsException.of(file, "tensors cover " + at + " bytes of the " + dataLength
                    + "-byte data block, expected the data block to be covered exactly (trailing bytes ["
                    + at + ", " + dataLength + ") belong to no tensor)");
        }
    }

    private static String describe(JsonToken t) {
        if (t == null) return "end of input";
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }
}
