package moonlight4j.optim;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * The element-wise pieces of Muon's update as pure functions on tensors, shared by {@link Muon} (whole parameters)
 * and {@code moonlight4j.dist.DistributedMuon} (ZeRO-1 slices, docs/muon.md#distributed-muon). Every piece except
 * Newton–Schulz is element-wise, so applying it to a flat slice of a parameter gives the same bits as applying it to
 * the whole.
 */
public final class MuonRule {

    private MuonRule() {
    }

    /**
     * Eq. 1 (docs/muon.md#momentum-and-nesterov) in place on {@code buf}, then the Newton–Schulz input:
     * <pre>
     *   buf = μ·buf + g
     *   g'  = nesterov ? g + μ·buf : buf
     * </pre>
     * Returns g': a new tensor (caller closes) with Nesterov, otherwise {@code buf} itself.
     */
    public static Tensor momentum(Backend be, Tensor buf, Tensor g, double mu, boolean nesterov) {
        Tensor nsInput = nesterov ? be.zeros(g.dtype(), g.shape()) : null;
        be.momentumInPlace(buf, g, mu, nsInput);                         // M_t = μ·M_{t−1} + G_t; g + μ·M_t
        return nesterov ? nsInput : buf;                                 // g' (Nesterov) or buf
    }

    /**
     * Eq. 3 and 4 (docs/muon.md#decoupled-weight-decay) in place on {@code p}: {@code p = p·(1 − lr·wd)} (decay with
     * the unscaled lr first), then {@code p = p − adjustedLr·o}. {@code o} is the orthogonalized update (or the
     * matching slice of it).
     */
    public static void applyUpdate(Backend be, Tensor p, Tensor o, double lr, double weightDecay, double adjustedLr) {
        be.scaleAxpyInPlace(p, 1 - lr * weightDecay, -adjustedLr, o);   // W·(1 − η·λ) − η·0.2·√max(A,B)·O
    }

    /**
     * The release's internal AdamW (docs/muon.md#internal-adamw) in place on {@code p}, {@code m}, {@code v} at step {@code t}:
     * <pre>
     *   m = lerp(m, g, 1−β1);  v = lerp(v, g², 1−β2)
     *   p = p·(1 − lr·wd);     p = p − lr·√(1−β2^t)/(1−β1^t) · m/(eps + √v)
     * </pre>
     */
    public static AdamStep adamw(Backend be, Tensor p, Tensor g, Tensor m, Tensor v, long t, double lr,
                                  Muon.Options opt) {
        double biasCorrection1 = 1 - Math.pow(opt.beta1(), t);
        double biasCorrection2 = 1 - Math.pow(opt.beta2(), t);
        double scale = biasCorrection1 / Math.pow(biasCorrection2, 0.5);
        double stepSize = lr / scale;                                    // lr·√(1−β2^t)/(1−β1^t)
        // v by lerp, eps on the uncorrected √v (denomScale 1), decoupled decay: one fused pass (Backend Javadoc)
        AdamUpdate u = new AdamUpdate(1 - lr * opt.weightDecay(), opt.beta1(), opt.beta2(), true, 1.0, opt.eps(),
                stepSize);
        return new AdamStep(stepSize, be.adamUpdateInPlace(p, g, m, v, u));
    }
}
