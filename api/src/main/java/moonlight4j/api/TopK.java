package moonlight4j.api;

/**
 * Result of {@link Backend#topk}: {@code values} in the input's dtype and {@code indices} as I64, both of shape
 * {@code [..., k]}, ordered by descending value; equal values keep the lower index first.
 */
public record TopK(Tensor values, Tensor indices) implements AutoCloseable {
    @Override
    public void close() {
        values.close();
        indices.close();
    }
}
