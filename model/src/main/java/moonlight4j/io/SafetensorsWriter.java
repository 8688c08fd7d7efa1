package moonlight4j.io;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

/** The writing half of {@link Safetensors}: header encoding, data block, atomic replace. */
final class SafetensorsWriter {

    /** Tensors up to this size go through one reused heap buffer; larger ones are written into a mapping. */
    private static final int SCRATCH_BYTES = 16 << 20;

    private SafetensorsWriter() {
    }

    static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(tensors, "tensors");
        List<TensorInfo> infos = layout(file, tensors);
        byte[] header = encodeHeader(metadata == null ? Map.of() : metadata, infos);
        AtomicFiles.replace(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
                long dataStart = header.length;
                writeFully(ch, ByteBuffer.wrap(header), 0);
                ByteBuffer scratch = null;
                for (TensorInfo t : infos) {
                    Tensor x = tensors.get(t.name());
                    long at = dataStart + t.begin();
                    int size = Math.toIntExact(t.byteSize()); // checked by layout
                    if (size <= SCRATCH_BYTES) {
                        if (scratch == null || scratch.capacity() < size) scratch = ByteBuffer.allocate(Math.max(size, 1 << 16));
                        ByteBuffer out = scratch.clear().limit(size).order(ByteOrder.LITTLE_ENDIAN);
                        writeTensor(file, t, x, out);
                        writeFully(ch, out.flip(), at);
                    } else {
                        MappedByteBuffer out = ch.map(FileChannel.MapMode.READ_WRITE, at, size);
                        out.order(ByteOrder.LITTLE_ENDIAN);
                        writeTensor(file, t, x, out);
                        out.force();
                    }
                }
                ch.force(true);
            }
        });
    }

    /** The data-block offsets of {@code tensors} in iteration order. */
    private static List<TensorInfo> layout(Path file, Map<String, Tensor> tensors) throws SafetensorsException {
        List<TensorInfo> infos = new ArrayList<>(tensors.size());
        long at = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null) throw SafetensorsException.of(file, "a tensor name is null");
            if (name.equals(SafetensorsHeader.METADATA_KEY)) {
                throw SafetensorsException.of(file, name, "is reserved for the metadata, expected another tensor name");
            }
            if (t == null) throw SafetensorsException.of(file, name, "tensor is null");
            DType dtype = t.dtype();
            int[] shape = t.shape();
            long bytes = Math.multiplyExact(t.numel(), (long) dtype.byteSize());
            if (bytes > Integer.MAX_VALUE) {
                throw SafetensorsException.of(file, name, bytes + " bytes exceed the " + Integer.MAX_VALUE
                        + " that one ByteBuffer holds (Backend.writeTo writes into one buffer)");
            }
            infos.add(new TensorInfo(name, dtype, shape, at, at + bytes));
            at += bytes;
        }
        return infos;
    }

    private static void writeTensor(Path file, TensorInfo t, Tensor x, ByteBuffer out) throws SafetensorsException {
        int start = out.position();
        try {
            x.backend().writeTo(x, out);
        } catch (RuntimeException e) {
            throw new SafetensorsException(file + ": tensor '" + t.name() + "': backend "
                    + x.backend().name() + " failed to write it: " + e.getMessage(), e);
        }
        if (out.position() - start != t.byteSize()) {
            throw SafetensorsException.of(file, t.name(), "backend " + x.backend().name() + " wrote "
                    + (out.position() - start) + " bytes, expected " + t.byteSize());
        }
    }

    /**
     * {@code u64 N | JSON}: compact JSON in the reference order ({@code __metadata__} first when not empty, then
     * the tensors in {@code infos} order), padded with spaces so that 8+N is a multiple of 8.
     */
    static byte[] encodeHeader(Map<String, String> metadata, List<TensorInfo> infos) throws IOException {
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        json.write(new byte[8]);
        try (JsonGenerator g = new JsonFactory().createGenerator(json, JsonEncoding.UTF8)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart(SafetensorsHeader.METADATA_KEY);
                for (Map.Entry<String, String> e : metadata.entrySet()) {
                    g.writeStringField(Objects.requireNonNull(e.getKey(), "metadata key"),
                            Objects.requireNonNull(e.getValue(), () -> "metadata value of '" + e.getKey() + "'"));
                }
                g.writeEndObject();
            }
            for (TensorInfo t : infos) {
                g.writeObjectFieldStart(t.name());
                g.writeStringField("dtype", t.dtype().name());
                g.writeFieldName("shape");
                g.writeArray(t.shape(), 0, t.rank());
                g.writeFieldName("data_offsets");
                g.writeArray(new long[] {t.begin(), t.end()}, 0, 2);
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        while (json.size() % 8 != 0) json.write(' ');
        byte[] b = json.toByteArray();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, b.length - 8);
        return b;
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) at += ch.write(buf, at);
    }
}
