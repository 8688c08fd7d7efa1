package moonlight4j.model;

import moonlight4j.api.Tensor;

/** The FFN half of a decoder layer: a dense {@link Mlp} or a {@link Moe}. */
public interface FeedForward {

    /** x {@code (B, T, C)} → {@code (B, T, C)}. */
    Tensor forward(Tensor x);

    /** Gradient of the last forward: dy {@code (B, T, C)} → dx, weight gradients accumulated into grads. */
    Tensor backward(Tensor dy, Grads grads);
}
