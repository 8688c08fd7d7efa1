package moonlight4j.io;

import java.util.Arrays;
import java.util.Objects;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;

/**
 * One header entry of a safetensors file: the tensor {@code name} holds {@code numel(shape)} elements of
 * {@code dtype}, row-major little-endian, in bytes {@code [begin, end)} of the data block (the bytes after the
 * header). Validated on construction by the reader, so {@code end − begin = numel(shape)·dtype.byteSize()}.
 */
public record TensorInfo(String name, DType dtype, int[] shape, long begin, long end) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    /** The shape, a fresh copy ({@code []} for a scalar). */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements, 1 for a scalar. */
    public long numel() {
        return Shapes.numel(shape);
    }

    /** {@code end − begin}. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
