package moonlight4j.lora;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.model.Parameters;
import moonlight4j.optim.Optimizer;
import moonlight4j.optim.GradClip;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One LoRA training step on top of any trainer that yields gradients of the model's weights: the forward and backward
 * run on the effective weights {@code W + s·B·A} ({@link #effectiveWeights}), {@link LoraAdapters#gradients} turns
 * each targeted {@code dW} into {@code (dA, dB)}, the optimizer updates only the adapters (with Muon, both are hidden
 * matrices under the release split rule, docs/muon.md#parameter-split), and {@link #refresh} rebuilds the effective
 * weights. The base weights never change.
 */
public final class LoraStep {

    private LoraStep() {
    }

    /** What {@link #step} did: the update RMS per adapter tensor, the gradient norm before clipping. */
    public record Update(Map<String, Double> updateRms, double gradNorm) {
    }

    /** The parameters to run the model on: {@code base} with every targeted weight replaced by its effective weight. */
    public static Parameters effectiveWeights(Backend be, LoraAdapters adapters, Parameters base) {
        return adapters.merged(be, base);
    }

    /**
     * The adapter gradients {@code (dA, dB)} of every targeted weight that has a gradient (a targeted weight without
     * one is skipped: grad None), in the adapters' dtype, keyed by their PEFT names.
     *
     * @param weightGrads gradients by HF weight name, as a full fine-tuning backward produces them
     */
    public static Map<String, Tensor> adapterGradients(Backend be, LoraAdapters adapters, Map<String, Tensor> weightGrads) {
        Map<String, Tensor> params = adapters.parameters().asMap();
        Map<String, Tensor> grads = new LinkedHashMap<>();
        for (String w : adapters.targets()) {
            Tensor dW = weightGrads.get(w);
            if (dW == null) continue;
            Tensor[] g = adapters.gradients(be, w, dW);
            for (int i = 0; i < 2; i++) {
                String name = LoraAdapters.peftName(w, i == 0);
                DType dt = params.get(name).dtype();
                grads.put(name, g[i].dtype() == dt ? g[i] : be.cast(g[i], dt));
            }
        }
        return grads;
    }

    /**
     * Updates the adapters from the weight gradients of one step (one process; a trainer under data parallelism
     * hands {@link #adapterGradients} to its {@code StepSync} instead). Call it inside a {@code TensorScope}.
     *
     * @param clip global-norm clipping of the adapter gradients (0 = off)
     * @return the optimizer's per-parameter update RMS and the adapter gradients' global norm before clipping
     */
    public static Update step(Backend be, LoraAdapters adapters, Optimizer optimizer,
                              Map<String, Tensor> weightGrads, double lr, double clip) {
        Map<String, Tensor> grads = adapterGradients(be, adapters, weightGrads);
        double norm = GradClip.clip(be, grads, clip);
        return new Update(optimizer.step(new LinkedHashMap<>(adapters.parameters().asMap()), grads, lr), norm);
    }

    /** Re-computes the targeted effective weights in {@code effective} after the adapters changed. */
    public static void refresh(Backend be, LoraAdapters adapters, Parameters base, Parameters effective) {
        for (String w : adapters.targets()) {
            Tensor merged = TensorScope.detach(adapters.effective(be, w, base.get(w)));   // lives until the next refresh
            Tensor old = effective.put(w, merged);
            if (old != null && old != base.get(w)) old.close();
        }
    }
}
