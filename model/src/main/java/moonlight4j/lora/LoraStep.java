package moonlight4j.lora;

import moonlight4j.api.Backend;
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
     * Updates the adapters from the weight gradients of one step.
     *
     * @param weightGrads gradients by HF weight name (as a full fine-tuning backward produces them); only the
     *                    targeted weights' entries are used, a targeted weight without one is skipped (grad-None)
     * @param clip        global-norm clipping of the adapter gradients (0 = off)
     * @return the optimizer's per-parameter update RMS and the adapter gradients' global norm before clipping
     */
    public static Update step(Backend be, LoraAdapters adapters, Optimizer optimizer,
                              Map<String, Tensor> weightGrads, double lr, double clip) {
        Map<String, Tensor> grads = new LinkedHashMap<>();
        for (String w : adapters.targets()) {
            Tensor dW = weightGrads.get(w);
            if (dW == null) continue;
            Tensor[] g = adapters.gradients(be, w, dW);
            grads.put(LoraAdapters.peftName(w, true), g[0]);
            grads.put(LoraAdapters.peftName(w, false), g[1]);
        }
        Map<String, Tensor> params = new LinkedHashMap<>(adapters.parameters().asMap());
        Map<String, Tensor> castGrads = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            Tensor p = params.get(e.getKey());
            castGrads.put(e.getKey(), p.dtype() == e.getValue().dtype() ? e.getValue() : be.cast(e.getValue(), p.dtype()));
        }
        double norm = GradClip.clip(be, castGrads, clip);
        Map<String, Double> rms = optimizer.step(params, castGrads, lr);
        for (Map.Entry<String, Tensor> e : castGrads.entrySet()) if (e.getValue() != grads.get(e.getKey())) e.getValue().close();
        grads.values().forEach(Tensor::close);
        return new Update(rms, norm);
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
