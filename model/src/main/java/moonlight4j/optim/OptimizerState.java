package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Per-parameter optimizer state: tensors in named slots ({@code momentum_buffer}, {@code moment1}, ...) created as
 * zeros at first use, like PyTorch's lazily filled {@code self.state[p]}, plus a step counter per parameter.
 * Keys of the state dict are {@code <param>.<slot>}; slot names contain no dot, so the split is at the last dot.
 */
final class OptimizerState implements AutoCloseable {

    static final String STEP = "step";

    private final Backend be;
    private final Set<String> slots;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();   // "<param>.<slot>" → tensor
    private final Map<String, Long> steps = new LinkedHashMap<>();       // param → step count

    /** @param slots the tensor slots this optimizer keeps (besides {@value #STEP}) */
    OptimizerState(Backend be, Set<String> slots) {
        this.be = be;
        this.slots = Set.copyOf(slots);
    }

    /** The slot tensor of {@code param}, zeros shaped like {@code like} on first use (docs/muon.md#momentum-and-nesterov: zeros_like(g)). */
    Tensor slot(String param, String slot, Tensor like) {
        String key = param + "." + slot;
        Tensor t = tensors.get(key);
        if (t == null) {
            t = TensorScope.outside(() -> be.zeros(like.dtype(), like.shape()));   // state outlives the step
            tensors.put(key, t);
        } else if (!Arrays.equals(t.shape(), like.shape()) || t.dtype() != like.dtype()) {
            throw new IllegalStateException("optimizer state '" + key + "' is " + t.dtype() + " " + Shapes.str(t.shape())
                    + " but the gradient of " + param + " is " + like.dtype() + " " + Shapes.str(like.shape()));
        }
        return t;
    }

    /** Increments and returns the step count of {@code param} (1 at its first update). */
    long nextStep(String param) {
        return steps.merge(param, 1L, Long::sum);
    }

    Map<String, Tensor> toStateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) out.put(e.getKey(), be.copy(e.getValue()));
        for (Map.Entry<String, Long> e : steps.entrySet()) {
            out.put(e.getKey() + "." + STEP, be.fromLongs(new long[]{e.getValue()}));
        }
        return out;
    }

    void load(Map<String, Tensor> state) {
        Map<String, Tensor> newTensors = new LinkedHashMap<>();
        Map<String, Long> newSteps = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : state.entrySet()) {
                String key = e.getKey();
                int dot = key.lastIndexOf('.');
                String slot = dot < 0 ? "" : key.substring(dot + 1);
                Tensor t = e.getValue();
                if (slot.equals(STEP)) {
                    if (t.dtype() != DType.I64 || t.numel() != 1) {
                        throw new IllegalArgumentException("optimizer state '" + key + "': expected an I64 scalar step count, got "
                                + t.dtype() + " " + Shapes.str(t.shape()));
                    }
                    newSteps.put(key.substring(0, dot), be.toLongs(t)[0]);
                } else if (slots.contains(slot)) {
                    newTensors.put(key, TensorScope.outside(() -> be.copy(t)));
                } else {
                    throw new IllegalArgumentException("optimizer state '" + key + "': unknown slot '" + slot
                            + "', expected <param>.{" + String.join(",", slots.stream().sorted().toList()) + "," + STEP + "}");
                }
            }
        } catch (RuntimeException ex) {
            newTensors.values().forEach(Tensor::close);
            throw ex;
        }
        close();
        tensors.putAll(newTensors);
        steps.putAll(newSteps);
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        tensors.clear();
        steps.clear();
    }
}
