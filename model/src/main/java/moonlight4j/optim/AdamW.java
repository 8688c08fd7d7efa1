package moonlight4j.optim;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The baseline: {@code torch.optim.AdamW} (single-tensor path, amsgrad off), for every parameter alike:
 *
 * <pre>
 *   t += 1
 *   p = p·(1 − lr·wd)                                 decoupled weight decay, before the update
 *   m = lerp(m, g, 1 − β1)
 *   v = β2·v + (1 − β2)·g²
 *   p = p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
 * </pre>
 *
 * Unlike Muon's internal AdamW (docs/muon.md#internal-adamw) eps is added to the bias-corrected √v, so the effective
 * eps differs by {@code √(1−β2^t)}. toy_train's {@code --optimizer adamw} uses betas (0.9, 0.95), wd 0.1
 * (docs/muon.md#adamw-baseline): {@link Options#toyTrain()}.
 */
public final class AdamW implements Optimizer {

    /** @param weightDecay λ; @param beta1 β1; @param beta2 β2; @param eps ε added to √v̂ */
    public record Options(double weightDecay, double beta1, double beta2, double eps) {

        /** toy_train's baseline: {@code AdamW(lr, weight_decay=0.1, betas=(0.9, 0.95))}, eps 1e-8. */
        public static Options toyTrain() {
            return new Options(0.1, 0.9, 0.95, 1e-8);
        }

        /** PyTorch's own defaults: weight_decay 0.01, betas (0.9, 0.999), eps 1e-8. */
        public static Options torchDefaults() {
            return new Options(0.01, 0.9, 0.999, 1e-8);
        }
    }

    public static final String MOMENT1 = "moment1";
    public static final String MOMENT2 = "moment2";

    private final Backend be;
    private final Options opt;
    private final OptimizerState state;

    public AdamW(Backend be, Options options) {
        this.be = be;
        this.opt = options;
        this.state = new OptimizerState(be, Set.of(MOMENT1, MOMENT2));
    }

    @Override
    public Map<String, Double> step(Map<String, Tensor> params, Map<String, Tensor> grads, double lr) {
        StepChecks.check(params, grads);
        Map<String, Double> updateRms = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            String name = e.getKey();
            Tensor p = e.getValue();
            Tensor g = grads.get(name);
            if (g == null) continue;                                     // grad None: skipped entirely
            long t = state.nextStep(name);
            AdamStep st = update(be, p, g, state.slot(name, MOMENT1, g), state.slot(name, MOMENT2, g), t, lr, opt);
            updateRms.put(name, st.stepSize() * Math.sqrt(st.directionSumSquares() / p.numel()));
        }
        return updateRms;
    }

    /**
     * One torch AdamW update at step {@code t} in place on {@code p}, {@code m}, {@code v} (any slice of a parameter:
     * every operation is element-wise); shared with {@code moonlight4j.dist.DistributedAdamW}.
     */
    public static AdamStep update(Backend be, Tensor p, Tensor g, Tensor m, Tensor v, long t, double lr,
                                            Options opt) {
        double biasCorrection1 = 1 - Math.pow(opt.beta1(), t);           // bias-correct both moments
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(opt.beta2(), t));
        double stepSize = lr / biasCorrection1;
        // p·(1 − lr·wd); m = lerp(m, g, 1−β1); v = β2·v + (1−β2)·g²; p −= lr/(1−β1^t) · m/(√v/√(1−β2^t) + eps),
        // one fused pass (Backend#adamUpdateInPlace)
        AdamUpdate u = new AdamUpdate(1 - lr * opt.weightDecay(), opt.beta1(), opt.beta2(), false,
                1 / biasCorrection2Sqrt, opt.eps(), stepSize);
        return new AdamStep(stepSize, be.adamUpdateInPlace(p, g, m, v, u));
    }

    @Override
    public Map<String, Tensor> stateDict() {
        return state.toStateDict();
    }

    @Override
    public void loadStateDict(Map<String, Tensor> s) {
        state.load(s);
    }

    @Override
    public void close() {
        state.close();
    }

    @Override
    public String toString() {
        return "AdamW(wd " + opt.weightDecay() + ", betas (" + opt.beta1() + ", " + opt.beta2() + "), eps " + opt.eps() + ")";
    }
}
