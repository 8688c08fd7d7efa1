package moonlight4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import moonlight4j.api.Tensor;

/**
 * Reads and writes the HF safetensors format (github.com/huggingface/safetensors):
 *
 * <pre>u64 little-endian N | N bytes UTF-8 JSON header, space-padded so that 8+N ≡ 0 (mod 8) | data block</pre>
 *
 * The header maps each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to
 * the data block, elements row-major and little-endian) and may hold {@code "__metadata__"}: string → string. The
 * reader treats the header as untrusted ({@link SafetensorsHeader}); the writer emits the same bytes as the
 * reference implementation for the same tensor order and metadata.
 */
public final class Safetensors {

    /** Largest header accepted: 100 MB, the limit of the reference implementation. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Data-block mapping windows grow up to this size before a new one starts. */
    static final long WINDOW_BYTES = 1L << 30;

    private Safetensors() {
    }

    /** Maps {@code file} read-only and validates its header. */
    public static SafetensorsFile open(Path file) throws IOException {
        return open(file, WINDOW_BYTES);
    }

    static SafetensorsFile open(Path file, long windowBytes) throws IOException {
        if (windowBytes < 0 || windowBytes > Integer.MAX_VALUE) throw new IllegalArgumentException("windowBytes " + windowBytes);
        if (!Files.isRegularFile(file)) {
            throw SafetensorsException.of(file, Files.exists(file) ? "not a regular file" : "no such file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw SafetensorsException.of(file, "file is " + size + " bytes, expected at least the 8-byte header length");
            }
            long n = readFully(ch, ByteBuffer.allocate(8), 0).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            if (n < 0 || n > MAX_HEADER_BYTES) { // n < 0: an unsigned u64 ≥ 2^63
                throw SafetensorsException.of(file, "header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            if (n > size - 8) {
                throw SafetensorsException.of(file, "header length " + n + " exceeds the " + (size - 8)
                        + " bytes that follow it (file size " + size + "): truncated file?");
            }
            byte[] json = readFully(ch, ByteBuffer.allocate((int) n), 8).array();
            long dataStart = 8 + n;
            SafetensorsHeader header = SafetensorsHeader.parse(file, json, size - dataStart);
            return map(file, ch, dataStart, header, windowBytes);
        } catch (SafetensorsException e) {
            throw e;
        } catch (IOException e) { // AccessDeniedException and friends carry only the path as their message
            throw new SafetensorsException(file + ": cannot read: " + StrictJson.reason(e), e);
        }
    }

    /** Maps the data block as windows of whole tensors, each at most {@code windowBytes} unless one tensor is larger. */
    private static SafetensorsFile map(Path file, FileChannel ch, long dataStart, SafetensorsHeader header,
            long windowBytes) throws IOException {
        List<long[]> spans = new ArrayList<>(); // [begin, end) per window
        Map<String, Integer> windowOf = new HashMap<>();
        long[] open = null;
        for (TensorInfo t : header.tensors()) {
            if (t.byteSize() > Integer.MAX_VALUE) continue; // listed, unreadable through a ByteBuffer
            if (open == null || t.end() - open[0] > windowBytes) {
                open = new long[] {t.begin(), t.end()};
                spans.add(open);
            }
            open[1] = Math.max(open[1], t.end());
            windowOf.put(t.name(), spans.size() - 1);
        }
        MappedByteBuffer[] windows = new MappedByteBuffer[spans.size()];
        long[] begins = new long[spans.size()];
        for (int i = 0; i < windows.length; i++) {
            long[] s = spans.get(i);
            begins[i] = s[0];
            windows[i] = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + s[0], s[1] - s[0]);
        }
        return new SafetensorsFile(file, header, windows, begins, windowOf);
    }

    /**
     * Writes {@code tensors} (in the map's iteration order) and {@code metadata} to {@code file}: into a temporary
     * file in the same directory, forced to disk, then atomically renamed over {@code file}. On any failure the
     * temporary file is deleted and an existing {@code file} is left as it was.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        SafetensorsWriter.write(file, tensors, metadata);
    }

    static ByteBuffer readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, position + buf.position());
            if (r < 0) throw new IOException("unexpected end of file at byte " + (position + buf.position()));
        }
        return buf;
    }
}
