package moonlight4j.model;

import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every weight of a model in one map keyed by its Hugging Face name
 * ({@code model.layers.3.mlp.experts.17.down_proj.weight}), in checkpoint order. Loading, saving, optimizers and
 * golden checks all speak these names. Layers look their weights up by name at each forward, so a weight replaced
 * here (loaded, updated in place) is what the next forward uses.
 */
public final class Parameters {

    private final LinkedHashMap<String, Tensor> map = new LinkedHashMap<>();

    public Parameters() {
    }

    /** A map holding the given tensors in iteration order. */
    public Parameters(Map<String, Tensor> tensors) {
        map.putAll(tensors);
    }

    /** The tensor named {@code name}; an error naming it (and similar names) when absent. */
    public Tensor get(String name) {
        Tensor t = map.get(name);
        if (t == null) {
            List<String> near = new ArrayList<>();
            String stem = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
            for (String k : map.keySet()) if (k.startsWith(stem) && near.size() < 5) near.add(k);
            throw new IllegalArgumentException("missing parameter '" + name + "'"
                    + (near.isEmpty() ? " (" + map.size() + " parameters present)" : "; present nearby: " + near));
        }
        return t;
    }

    /** The tensor named {@code name}, checked to have {@code shape}. */
    public Tensor get(String name, int... shape) {
        Tensor t = get(name);
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("parameter '" + name + "' has shape " + Shapes.str(t.shape())
                    + ", expected " + Shapes.str(shape));
        }
        return t;
    }

    public boolean has(String name) {
        return map.containsKey(name);
    }

    /** Adds or replaces a tensor; returns the previous one (not closed) or null. */
    public Tensor put(String name, Tensor t) {
        return map.put(name, t);
    }

    /** Names in insertion order (unmodifiable view). */
    public List<String> names() {
        return List.copyOf(map.keySet());
    }

    /** The backing map, insertion-ordered (unmodifiable view). */
    public Map<String, Tensor> asMap() {
        return Collections.unmodifiableMap(map);
    }

    public int size() {
        return map.size();
    }

    /** Total number of elements. */
    public long numel() {
        long n = 0;
        for (Tensor t : map.values()) n += t.numel();
        return n;
    }

    /** The dtype shared by every tensor except those in {@code except}; an error naming a mismatch. */
    public DType commonDtype(java.util.function.Predicate<String> except) {
        DType d = null;
        String first = null;
        for (Map.Entry<String, Tensor> e : map.entrySet()) {
            if (except.test(e.getKey())) continue;
            DType t = e.getValue().dtype();
            if (d == null) {
                d = t;
                first = e.getKey();
            } else if (d != t) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' is " + t + " but '" + first
                        + "' is " + d + ": the model computes in one dtype (cast the weights first)");
            }
        }
        return d;
    }

    /** Closes every tensor and empties the map. */
    public void closeAll() {
        map.values().forEach(Tensor::close);
        map.clear();
    }
}
