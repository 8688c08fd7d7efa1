package moonlight4j.optim;

import moonlight4j.api.Tensor;

import java.util.Map;

/**
 * An optimizer over name-keyed parameters (HF names, e.g. {@code model.layers.3.mlp.experts.17.down_proj.weight}).
 *
 * <p>Grad-None semantics (docs/muon.md#grad-none): a parameter without an entry in {@code grads} is skipped entirely in
 * that step — no weight decay, no state change, no step count. This is how unused experts and
 * {@code e_score_correction_bias} behave in the release.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * One update of every parameter that has a gradient; parameters are modified in place, gradients are not.
     *
     * @param params name → parameter, iterated in insertion order
     * @param grads  name → gradient of the same shape; names without a gradient this step are absent
     * @param lr     the learning rate of this step (after any schedule)
     * @return name → RMS of the update applied to that parameter, {@code √mean(Δ²)} without the weight decay
     *         (paper Algorithm 1 line 14), for logging; one entry per parameter updated
     */
    Map<String, Double> step(Map<String, Tensor> params, Map<String, Tensor> grads, double lr);

    /**
     * A copy of the state keyed {@code <param>.<slot>} (e.g. {@code model.norm.weight.moment1}); per-parameter step
     * counts are I64 scalars {@code <param>.step}. The caller owns (and closes) the returned tensors.
     */
    Map<String, Tensor> stateDict();

    /**
     * Replaces the state by a copy of {@code state} (as written by {@link #stateDict()}); unknown slots are an error
     * naming the key. After loading, training continues bit-identically.
     */
    void loadStateDict(Map<String, Tensor> state);

    /** Releases the state tensors. */
    @Override
    void close();
}
