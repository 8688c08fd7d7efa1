package moonlight4j.api;

/** Gradients of {@link Backend#rmsNorm}: {@code dx} shaped like x, {@code dw} shaped like w (summed over rows). */
public record RmsNormGrads(Tensor dx, Tensor dw) implements AutoCloseable {
    @Override
    public void close() {
        dx.close();
        dw.close();
    }
}
