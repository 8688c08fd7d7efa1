package moonlight4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * An open, memory-mapped safetensors file whose header has been validated ({@link Safetensors#open}). Tensors are
 * read straight from the read-only mapping: {@link #bytes} is a view, {@link #load} copies into a backend.
 *
 * <p>A {@link ByteBuffer} holds at most 2³¹−1 bytes, so the data block is mapped as consecutive windows, each
 * holding whole tensors; a single tensor over 2³¹−1 bytes is listed but cannot be read ({@link #bytes} says so).
 * {@link #close} drops the mappings (the JVM unmaps them when they are collected); reading afterwards is an error.
 * Reads are safe from several threads: each {@link #bytes} call returns a fresh view.
 */
public final class SafetensorsFile implements AutoCloseable {

    private final Path path;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> infos; // offset order
    private final Map<String, Integer> windowOf; // tensor → index into windows, absent when too large to map
    private final long[] windowBegin;            // data-block offset of each window
    private volatile MappedByteBuffer[] windows;

    SafetensorsFile(Path path, SafetensorsHeader header, MappedByteBuffer[] windows, long[] windowBegin,
            Map<String, Integer> windowOf) {
        this.path = path;
        this.metadata = header.metadata();
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) m.put(t.name(), t);
        this.infos = Collections.unmodifiableMap(m);
        this.windows = windows;
        this.windowBegin = windowBegin;
        this.windowOf = windowOf;
    }

    public Path path() {
        return path;
    }

    /** The {@code __metadata__} strings in file order; an empty map when the header has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in data-offset order. */
    public List<String> names() {
        return List.copyOf(infos.keySet());
    }

    public boolean has(String name) {
        return infos.containsKey(name);
    }

    /** The header entry of {@code name}; {@link NoSuchElementException} naming the file and tensor when absent. */
    public TensorInfo info(String name) {
        TensorInfo t = infos.get(name);
        if (t == null) throw new NoSuchElementException(path + ": no tensor '" + name + "' " + listing());
        return t;
    }

    /**
     * The tensor's bytes: a read-only, little-endian view of the mapping, position 0, limit = byte size. Valid
     * until {@link #close}.
     */
    public ByteBuffer bytes(String name) {
        TensorInfo t = info(name);
        MappedByteBuffer[] w = windows;
        if (w == null) throw new IllegalStateException(path + ": closed, cannot read tensor '" + name + "'");
        Integer i = windowOf.get(name);
        if (i == null) {
            throw new UnsupportedOperationException(path + ": tensor '" + name + "' is " + t.byteSize()
                    + " bytes, more than one ByteBuffer holds (" + Integer.MAX_VALUE + ")");
        }
        int at = Math.toIntExact(t.begin() - windowBegin[i]);
        return w[i].slice(at, Math.toIntExact(t.byteSize())).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A copy of the tensor in backend {@code be}, in the file's dtype and shape (BF16 stays BF16). */
    public Tensor load(Backend be, String name) {
        TensorInfo t = info(name);
        return be.fromBuffer(bytes(name), t.dtype(), t.shape());
    }

    /** Drops the mappings. Idempotent. */
    @Override
    public void close() {
        windows = null;
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + infos.size() + " tensors]";
    }

    private String listing() {
        List<String> some = new ArrayList<>();
        for (String n : infos.keySet()) {
            if (some.size() == 8) break;
            some.add(n);
        }
        return "(the file has " + infos.size() + " tensors" + (some.isEmpty() ? "" : ": " + String.join(", ", some)
                + (infos.size() > some.size() ? ", ..." : "")) + ")";
    }
}
