package moonlight4j.api;

/**
 * A handle to an n-dimensional, row-major, contiguous array owned by one {@link Backend}. The shape and dtype
 * never change; the elements change only through the backend's documented in-place ops.
 *
 * <p>Data is read and written only through the owning backend ({@code backend().toFloats(t)}, ...). Closing a
 * tensor releases its storage at once (off-heap and device memory do not wait for GC); using it afterwards is an
 * error. Closing twice is allowed.
 */
public interface Tensor extends AutoCloseable {

    /** The shape, a fresh copy; {@code []} for a scalar. */
    int[] shape();

    DType dtype();

    Backend backend();

    /** Releases the storage. Idempotent. */
    @Override
    void close();

    default int rank() {
        return shape().length;
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end ({@code -1} = last). */
    default int dim(int d) {
        int[] s = shape();
        return s[d < 0 ? s.length + d : d];
    }

    /** Number of elements (1 for a scalar). */
    default long numel() {
        return Shapes.numel(shape());
    }
}
