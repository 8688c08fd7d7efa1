package moonlight4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every malformed header or file layout is rejected with a {@link SafetensorsException} that names the file, the
 * tensor and what was expected. Files are crafted byte by byte.
 */
class SafetensorsRejectTest {

    @TempDir
    Path dir;

    /** {@code u64 LE length | header | data}, header length taken from the header. */
    private Path craft(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(h.length, h, dataBytes);
    }

    private Path raw(long declaredLength, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(header);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> rejects(Path f, String... fragments) {
        var a = assertThatThrownBy(() -> Safetensors.open(f).close())
                .isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(f.toString());
        for (String s : fragments) a.hasMessageContaining(s);
        return a;
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    // ---------------------------------------------------------------- the file itself

    @Test
    void fileShorterThan8BytesIsRejected() throws IOException {
        Path empty = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        rejects(empty, "0 bytes", "at least the 8-byte header length");
        Path seven = Files.write(dir.resolve("seven.safetensors"), new byte[7]);
        rejects(seven, "7 bytes");
    }

    @Test
    void missingFileAndDirectoryAreRejected() throws IOException {
        rejects(dir.resolve("absent.safetensors"), "no such file");
        Path sub = Files.createDirectory(dir.resolve("sub.safetensors"));
        rejects(sub, "not a regular file");
    }

    @Test
    void headerLengthOver100MbIsRejectedBeforeAllocating() throws IOException {
        // declares a 1 TB header in a 16-byte file: must fail on the cap, not by allocating or reading
        Path f = raw(1L << 40, "{}      ".getBytes(StandardCharsets.US_ASCII), 0);
        rejects(f, "header length 1099511627776", "limit of 100000000");
        Path top = raw(-1L, "{}      ".getBytes(StandardCharsets.US_ASCII), 0); // u64 2^64-1
        rejects(top, "18446744073709551615");
    }

    @Test
    void headerLengthBeyondFileSizeIsRejected() throws IOException {
        Path f = raw(1000, "{}".getBytes(StandardCharsets.US_ASCII), 0);
        rejects(f, "header length 1000", "exceeds the 2 bytes");
    }

    // ---------------------------------------------------------------- JSON shape

    @Test
    void nonJsonHeaderIsRejected() throws IOException {
        rejects(craft("{not json", 0), "not valid JSON");
        rejects(craft("{\"a\":", 0), "not valid JSON");
    }

    @Test
    void invalidUtf8HeaderIsRejected() throws IOException {
        byte[] h = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        rejects(raw(h.length, h, 0), "not valid UTF-8", "at byte offset 2");
    }

    @Test
    void nonObjectHeaderIsRejected() throws IOException {
        rejects(craft("[1,2,3]", 0), "must be a JSON object", "an array");
        rejects(craft("\"x\"", 0), "must be a JSON object", "a string");
    }

    @Test
    void contentAfterTheJsonObjectIsRejected() throws IOException {
        rejects(craft("{} {}", 0), "content after its JSON object", "space padding");
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        rejects(craft("{\"__metadata__\":{\"kind\":\"ok\",\"steps\":5}}", 0), "__metadata__['steps'] must be a string", "a number");
        rejects(craft("{\"__metadata__\":[\"a\"]}", 0), "__metadata__ must be an object of strings");
    }

    @Test
    void tensorEntryMustBeAnObject() throws IOException {
        rejects(craft("{\"w\":[1,2]}", 0), "tensor 'w'", "must be an object");
    }

    @Test
    void missingAndUnknownFieldsAreRejected() throws IOException {
        rejects(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "tensor 'w'", "missing field 'data_offsets'");
        rejects(craft("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "missing field 'dtype'");
        rejects(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"stride\":[1]}}", 4),
                "tensor 'w'", "unexpected field 'stride'");
    }

    // ---------------------------------------------------------------- dtype

    @Test
    void unknownDtypeIsRejected() throws IOException {
        rejects(craft("{" + entry("w", "F33", "[1]", 0, 4) + "}", 4), "tensor 'w'", "unknown dtype 'F33'",
                "F32, BF16, F64, I32, I64");
    }

    @Test
    void knownButUnsupportedDtypesAreRejectedAsSuch() throws IOException {
        for (String dt : new String[] {"F16", "U8", "BOOL", "I8", "F8_E4M3"}) {
            rejects(craft("{" + entry("mask", dt, "[4]", 0, 4) + "}", 4), "tensor 'mask'", "dtype " + dt,
                    "safetensors dtype that moonlight4j does not support", "F32, BF16, F64, I32, I64");
        }
    }

    // ---------------------------------------------------------------- shape

    @Test
    void shapeMustBeAnArrayOfNonNegativeInts() throws IOException {
        rejects(craft("{" + entry("w", "F32", "4", 0, 16) + "}", 16), "tensor 'w'", "shape must be an array");
        rejects(craft("{" + entry("w", "F32", "[-4]", 0, 16) + "}", 16), "tensor 'w'", "negative");
        rejects(craft("{" + entry("w", "F32", "[4.0]", 0, 16) + "}", 16), "tensor 'w'", "non-negative integers", "4.0");
        rejects(craft("{" + entry("w", "F32", "[\"4\"]", 0, 16) + "}", 16), "tensor 'w'", "non-negative integers");
        rejects(craft("{" + entry("w", "F32", "[[4]]", 0, 16) + "}", 16), "tensor 'w'", "non-negative integers");
        rejects(craft("{" + entry("w", "F32", "[4294967296]", 0, 16) + "}", 16), "tensor 'w'", "exceeds 2147483647");
        rejects(craft("{" + entry("w", "F32", "[99999999999999999999999]", 0, 16) + "}", 16), "tensor 'w'", "out of range");
    }

    @Test
    void elementCountOverflowIsRejected() throws IOException {
        String big = "[2147483647,2147483647,2147483647]"; // 2^93 elements
        rejects(craft("{" + entry("w", "F32", big, 0, 16) + "}", 16), "tensor 'w'", "more elements");
        String bytes = "[2147483647,2147483647,2]"; // 2^63 - ... elements fit, ×8 bytes do not
        rejects(craft("{" + entry("w", "F64", bytes, 0, 16) + "}", 16), "tensor 'w'", "more elements (or bytes)");
    }

    @Test
    void byteSizeMustMatchShapeTimesDtype() throws IOException {
        rejects(craft("{" + entry("w", "F32", "[2,3]", 0, 20) + "}", 20), "tensor 'w'", "hold 20 bytes",
                "expected 24 = 6 elements of [2, 3] × 4 bytes (F32)");
        rejects(craft("{" + entry("w", "BF16", "[2,3]", 0, 24) + "}", 24), "tensor 'w'", "expected 12");
    }

    // ---------------------------------------------------------------- offsets

    @Test
    void offsetsMustBeTwoOrderedIntegers() throws IOException {
        rejects(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "tensor 'w'", "1 entries");
        rejects(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8), "tensor 'w'", "more than 2");
        rejects(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8), "tensor 'w'", "end before they begin");
    }

    @Test
    void offsetsOutsideTheDataBlockAreRejected() throws IOException {
        rejects(craft("{" + entry("w", "F32", "[4]", 0, 16) + "}", 12), "tensor 'w'", "[0, 16]",
                "outside the data block of 12 bytes");
    }

    @Test
    void overlappingOffsetsAreRejected() throws IOException {
        String h = "{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[4]", 8, 24) + "}";
        rejects(craft(h, 24), "tensor 'b'", "overlap tensor 'a'");
    }

    @Test
    void holesInTheDataBlockAreRejected() throws IOException {
        String gap = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 12, 20) + "}";
        rejects(craft(gap, 20), "tensor 'b'", "hole [8, 12)", "after tensor 'a'", "expected begin 8");
        String leading = "{" + entry("a", "F32", "[2]", 4, 12) + "}";
        rejects(craft(leading, 12), "tensor 'a'", "hole [0, 4)");
        String trailing = "{" + entry("a", "F32", "[2]", 0, 8) + "}";
        rejects(craft(trailing, 12), "cover 8 bytes of the 12-byte data block", "covered exactly");
    }

    @Test
    void duplicateNamesAreRejected() throws IOException {
        String h = "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}";
        rejects(craft(h, 8), "tensor 'w'", "appears twice");
        rejects(craft("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "'__metadata__'", "appears twice");
        rejects(craft("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0), "__metadata__['k'] appears twice");
    }

    // ---------------------------------------------------------------- what is accepted

    @Test
    void metadataIsOptionalAndPaddingIsAllowed() throws IOException {
        Path f = craft("{" + entry("w", "I32", "[2]", 0, 8) + "}     ", 8);
        try (SafetensorsFile st = Safetensors.open(f)) {
            assertThat(st.metadata()).isEmpty();
            assertThat(st.names()).containsExactly("w");
        }
        try (SafetensorsFile st = Safetensors.open(craft("{\"__metadata__\":null}", 0))) {
            assertThat(st.metadata()).isEmpty();
            assertThat(st.names()).isEmpty();
        }
    }

    @Test
    void longNamesAndMetadataValuesWithinTheHeaderCapAreAccepted() throws IOException {
        String name = "n".repeat(60_000);          // over Jackson's default 50,000-char name limit
        String value = "v".repeat(21_000_000);     // over Jackson's default 20 M-char string limit
        Path f = craft("{\"__metadata__\":{\"big\":\"" + value + "\"}," + entry(name, "F32", "[1]", 0, 4) + "}", 4);
        try (SafetensorsFile st = Safetensors.open(f)) {
            assertThat(st.metadata().get("big")).hasSize(21_000_000);
            assertThat(st.names()).containsExactly(name);
        }
    }

    @Test
    void absentTensorNamesFileAndTensor() throws IOException {
        Path f = craft("{" + entry("w", "I32", "[2]", 0, 8) + "}", 8);
        try (SafetensorsFile st = Safetensors.open(f)) {
            assertThat(st.has("w")).isTrue();
            assertThat(st.has("v")).isFalse();
            assertThatThrownBy(() -> st.info("v")).hasMessageContaining(f.toString())
                    .hasMessageContaining("no tensor 'v'").hasMessageContaining("1 tensors: w");
        }
    }

    // ---------------------------------------------------------------- strict UTF-8, strict JSON

    @Test
    void headerMustBeUtf8WithoutByteOrderMark() throws IOException {
        String h = "{" + entry("w", "F32", "[1]", 0, 4) + "}";
        byte[] utf8 = h.getBytes(StandardCharsets.UTF_8);
        byte[] bom = new byte[utf8.length + 3];
        bom[0] = (byte) 0xEF;
        bom[1] = (byte) 0xBB;
        bom[2] = (byte) 0xBF;
        System.arraycopy(utf8, 0, bom, 3, utf8.length);
        rejects(raw(bom.length, bom, 4), "UTF-8 with a byte-order mark", "expected UTF-8");
        byte[] le = h.getBytes(StandardCharsets.UTF_16LE);
        rejects(raw(le.length, le, 4), "UTF-16 or UTF-32", "expected UTF-8");
        byte[] withBom = h.getBytes(StandardCharsets.UTF_16);                 // big-endian with FE FF
        rejects(raw(withBom.length, withBom, 4), "UTF-16 (byte-order mark)");
        // C0 AE: an overlong '.', accepted by lenient decoders
        byte[] overlong = ("{\"a\u00ff\":1}").getBytes(StandardCharsets.ISO_8859_1);
        overlong[3] = (byte) 0xC0;
        overlong[4] = (byte) 0xAE;
        rejects(raw(overlong.length, overlong, 0), "not valid UTF-8", "at byte offset 3");
    }

    @Test
    void negativeZeroIsNotANonNegativeInteger() throws IOException {
        rejects(craft("{" + entry("w", "F32", "[1]", 0, 4).replace("[0,4]", "[-0,4]") + "}", 4),
                "tensor 'w'", "data_offsets value -0 is negative");
        rejects(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,0]}}", 0),
                "tensor 'w'", "shape value -0 is negative");
    }
}
