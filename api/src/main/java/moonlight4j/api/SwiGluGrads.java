package moonlight4j.api;

/** Gradients of {@link Backend#swiglu} with respect to its two inputs, each shaped like them. */
public record SwiGluGrads(Tensor dGate, Tensor dUp) implements AutoCloseable {
    @Override
    public void close() {
        dGate.close();
        dUp.close();
    }
}
