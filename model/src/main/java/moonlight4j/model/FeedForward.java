package moonlight4j.model;

import moonlight4j.api.Tensor;

/** The FFN half of a decoder layer: a dense {@link Mlp} or a {@link Moe}. */
public interface FeedForward {

    /** x {@code (B, T, C)} → {@code (B, T, C)}. */
    Tensor forward(Tensor x);
}
