package moonlight4j.model;

/**
 * What every layer shares: whether its forward keeps the activations its backward will need (llm.c style: the
 * forward records, the backward — written next to it — consumes). Off for inference, so nothing is retained.
 */
abstract class Layer {

    /** When true, {@code forward} stores what {@code backward} needs in the layer's {@code saved} field. */
    protected boolean keepForBackward;

    /** Switches recording of activations for backward on or off (propagated to sub-layers). */
    void keepForBackward(boolean on) {
        keepForBackward = on;
    }
}
