package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parameter gradients keyed by Hugging Face name, filled by the layers' {@code backward}. A parameter that received no
 * gradient (an expert no token chose, every {@code e_score_correction_bias}) is <em>absent</em>: that is PyTorch's
 * {@code grad is None}, which the optimizers read as "skip entirely" (docs/muon.md#grad-none). Gradients of a parameter
 * used more than once (an expert across micro-batches) are summed. Grads owns the tensors it holds, whichever
 * {@link TensorScope} made them, and frees them when closed.
 */
public final class Grads implements AutoCloseable {

    private final LinkedHashMap<String, Tensor> map = new LinkedHashMap<>();

    /** {@code grad[name] += g}; takes ownership of {@code g}. */
    public void accumulate(Backend be, String name, Tensor g) {
        Tensor old = map.get(name);
        if (old == null) {
            map.put(name, TensorScope.detach(g));                // the gradient outlives the layer's scope: ours now
        } else {
            be.axpyInPlace(old, 1.0, g);
            g.close();
        }
    }

    /** The gradient of {@code name}, or null (grad None). */
    public Tensor get(String name) {
        return map.get(name);
    }

    public boolean has(String name) {
        return map.containsKey(name);
    }

    /** Name → gradient in the order gradients first arrived (unmodifiable view). */
    public Map<String, Tensor> asMap() {
        return Collections.unmodifiableMap(map);
    }

    public int size() {
        return map.size();
    }

    /** Removes and closes every gradient. */
    @Override
    public void close() {
        map.values().forEach(Tensor::close);
        map.clear();
    }
}
