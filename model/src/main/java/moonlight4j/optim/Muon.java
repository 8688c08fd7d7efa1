package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Muon as released with Moonlight ({@code examples/toy_train.py}, class {@code Muon}), docs/muon.md#one-step:
 *
 * <pre>
 * for each param p with a gradient g:
 *   if split.useMuon(p):                                   # hidden matrices, docs/muon.md#parameter-split
 *     buf = μ·buf + g                                      # Eq. 1, docs/muon.md#momentum-and-nesterov
 *     g'  = nesterov ? g + μ·buf : buf
 *     O   = NS5(g')                                        # docs/muon.md#newton-schulz (bf16 like the release)
 *     p   = p·(1 − lr·wd)                                  # Eq. 3, docs/muon.md#decoupled-weight-decay: unscaled lr, first
 *     p   = p − lr·0.2·√max(A,B)·O                         # Eq. 4, docs/muon.md#update-scale
 *   else:                                                  # internal AdamW, docs/muon.md#internal-adamw
 *     t += 1;  m = lerp(m, g, 1−β1);  v = lerp(v, g², 1−β2)
 *     p = p·(1 − lr·wd);  p = p − lr·√(1−β2^t)/(1−β1^t) · m/(eps + √v)
 * </pre>
 *
 * A parameter without a gradient in a step is skipped entirely (no decay, no state change, no step count).
 */
public final class Muon implements Optimizer {

    /**
     * Hyper-parameters; {@link #defaults()} are the release's (docs/muon.md#defaults) except lr, which is passed to
     * each step.
     *
     * @param weightDecay  decoupled weight decay λ, shared by both sides (release {@code wd}, 0.1)
     * @param momentum     μ (0.95)
     * @param nesterov     feed {@code g + μ·buf} to NS instead of {@code buf} (true)
     * @param newtonSchulz the orthogonalization (5 × (3.4445, −4.7750, 2.0315) in bf16)
     * @param adjustLr     the per-matrix lr scale (match_rms_adamw)
     * @param beta1        internal AdamW β1 (0.9)
     * @param beta2        internal AdamW β2 (0.95)
     * @param eps          internal AdamW ε, added to the uncorrected √v (1e-8)
     * @param split        which parameters Muon updates (the release rule)
     */
    public record Options(double weightDecay, double momentum, boolean nesterov, NewtonSchulz newtonSchulz,
                          AdjustLr adjustLr, double beta1, double beta2, double eps, ParamSplit split) {

        public static Options defaults() {
            return new Options(0.1, 0.95, true, NewtonSchulz.release(), AdjustLr.MATCH_RMS_ADAMW, 0.9, 0.95, 1e-8,
                    ParamSplit.RELEASE);
        }

        public Options withWeightDecay(double wd) {
            return new Options(wd, momentum, nesterov, newtonSchulz, adjustLr, beta1, beta2, eps, split);
        }

        public Options withMomentum(double mu, boolean nest) {
            return new Options(weightDecay, mu, nest, newtonSchulz, adjustLr, beta1, beta2, eps, split);
        }

        public Options withNewtonSchulz(NewtonSchulz ns) {
            return new Options(weightDecay, momentum, nesterov, ns, adjustLr, beta1, beta2, eps, split);
        }

        public Options withAdjustLr(AdjustLr mode) {
            return new Options(weightDecay, momentum, nesterov, newtonSchulz, mode, beta1, beta2, eps, split);
        }

        public Options withAdamW(double b1, double b2, double e) {
            return new Options(weightDecay, momentum, nesterov, newtonSchulz, adjustLr, b1, b2, e, split);
        }

        public Options withSplit(ParamSplit s) {
            return new Options(weightDecay, momentum, nesterov, newtonSchulz, adjustLr, beta1, beta2, eps, s);
        }
    }

    public static final String MOMENTUM_BUFFER = "momentum_buffer";
    public static final String MOMENT1 = "moment1";
    public static final String MOMENT2 = "moment2";

    private final Backend be;
    private final Options opt;
    private final OptimizerState state;

    public Muon(Backend be, Options options) {
        this.be = be;
        this.opt = options;
        this.state = new OptimizerState(be, Set.of(MOMENTUM_BUFFER, MOMENT1, MOMENT2));
    }

    public Options options() {
        return opt;
    }

    @Override
    public Map<String, Double> step(Map<String, Tensor> params, Map<String, Tensor> grads, double lr) {
        StepChecks.check(params, grads);
        Map<String, Double> updateRms = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            String name = e.getKey();
            Tensor p = e.getValue();
            Tensor g = grads.get(name);
            if (g == null) continue;                       // grad None → skipped entirely (docs/muon.md#grad-none)
            double rms = opt.split().useMuon(name, p.shape()) ? muonUpdate(name, p, g, lr) : adamwUpdate(name, p, g, lr);
            updateRms.put(name, rms);
        }
        return updateRms;
    }

    /** One Muon update of matrix {@code p}; returns the RMS of {@code adjusted_lr · O}. */
    private double muonUpdate(String name, Tensor p, Tensor g, double lr) {
        int[] shape = p.shape();                                         // (A, B) = (out, in)
        Tensor buf = state.slot(name, MOMENTUM_BUFFER, g);
        Tensor nsInput = MuonRule.momentum(be, buf, g, opt.momentum(), opt.nesterov());   // g' (docs/muon.md#momentum-and-nesterov)
        try {
            // The release views an n-D gradient as (size(0), −1) before NS (dead code there: its Muon parameters are all 2-D).
            Tensor matrix = shape.length == 2 ? nsInput : be.reshape(nsInput, shape[0], -1);
            try (Tensor o = opt.newtonSchulz().apply(be, matrix);        // O_t = NS5(g')        (A, B)
                 Tensor u = shape.length == 2 ? null : be.reshape(o, shape)) {
                double adjustedLr = opt.adjustLr().adjust(lr, shape[0], shape[1]);
                MuonRule.applyUpdate(be, p, u == null ? o : u, lr, opt.weightDecay(), adjustedLr);   // Eq. 4
                return adjustedLr * MuonRule.rms(be, o);                 // Algorithm 1 line 14
            }
        } finally {
            if (nsInput != buf) nsInput.close();
        }
    }

    /** The release's internal AdamW (docs/muon.md#internal-adamw) for a parameter that is not a hidden matrix. */
    private double adamwUpdate(String name, Tensor p, Tensor g, double lr) {
        long t = state.nextStep(name);                                   // per-parameter step count
        Tensor m = state.slot(name, MOMENT1, g);
        Tensor v = state.slot(name, MOMENT2, g);
        MuonRule.AdamWStep s = MuonRule.adamw(be, p, g, m, v, t, lr, opt);
        return s.stepSize() * Math.sqrt(s.directionSumSquares() / p.numel());
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
        return "Muon(wd " + opt.weightDecay() + ", μ " + opt.momentum() + (opt.nesterov() ? " nesterov" : "") + ", "
                + opt.newtonSchulz() + ", " + opt.adjustLr() + ", AdamW betas (" + opt.beta1() + ", " + opt.beta2()
                + ") eps " + opt.eps() + ")";
    }

    /** Muon's adjusted lr for a parameter of {@code shape} (uses its first two dimensions, as the release). */
    public double adjustedLr(double lr, int[] shape) {
        if (shape.length < 2) throw new IllegalArgumentException("adjust_lr needs ≥ 2 dims, got " + Shapes.str(shape));
        return opt.adjustLr().adjust(lr, shape[0], shape[1]);
    }
}
