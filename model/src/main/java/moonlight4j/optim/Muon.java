package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
        nsNanos = 0;
        nsFlop = 0;
        Map<String, Double> updateRms = new LinkedHashMap<>();
        // Pass 1, in parameter order (so the state is created in the order of a per-parameter loop): the internal
        // AdamW updates, and each hidden matrix's momentum buffer, grouped by the shape Newton–Schulz sees.
        Map<String, List<String>> byShape = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            String name = e.getKey();
            Tensor p = e.getValue();
            Tensor g = grads.get(name);
            if (g == null) continue;                       // grad None → skipped entirely (docs/muon.md#grad-none)
            updateRms.put(name, Double.NaN);               // keeps the parameter order of the report
            if (opt.split().useMuon(name, p.shape())) {
                state.slot(name, MOMENTUM_BUFFER, g);
                int[] s = p.shape();
                byShape.computeIfAbsent(s[0] + "x" + p.numel() / s[0], k -> new ArrayList<>()).add(name);
            } else {
                updateRms.put(name, adamwUpdate(name, p, g, lr));
            }
        }
        // Pass 2: every update is independent of the others, so same-shaped matrices are orthogonalised together
        // as one stack (batched products), at most MAX_STACK at a time.
        for (List<String> group : byShape.values()) {
            for (int from = 0; from < group.size(); from += MAX_STACK) {
                List<String> names = group.subList(from, Math.min(group.size(), from + MAX_STACK));
                muonUpdates(names, params, grads, lr, updateRms);
            }
        }
        return updateRms;
    }

    /** Same-shaped matrices orthogonalised together in one batched Newton–Schulz, at most. */
    static final int MAX_STACK = 64;

    private long nsNanos;
    private double nsFlop;

    /** Seconds spent in Newton–Schulz during the last {@link #step}. */
    public double lastNewtonSchulzSeconds() {
        return nsNanos / 1e9;
    }

    /** Multiply-add FLOP of the Newton–Schulz runs of the last {@link #step} ({@link NewtonSchulz#flop}). */
    public double lastNewtonSchulzFlop() {
        return nsFlop;
    }

    /**
     * Muon updates of same-shaped matrices {@code names}: momentum, one Newton–Schulz over their stack, then each
     * matrix's update; the RMS of {@code adjusted_lr · O} goes to {@code updateRms}.
     */
    private void muonUpdates(List<String> names, Map<String, Tensor> params, Map<String, Tensor> grads, double lr,
                             Map<String, Double> updateRms) {
        int[] shape = params.get(names.get(0)).shape();                  // (A, B) = (out, in)
        int rows = shape[0], cols = (int) (params.get(names.get(0)).numel() / rows);
        Tensor[] matrices = new Tensor[names.size()];
        try {
            for (int i = 0; i < matrices.length; i++) {
                String name = names.get(i);
                Tensor g = grads.get(name);
                Tensor buf = state.slot(name, MOMENTUM_BUFFER, g);
                Tensor nsInput = MuonRule.momentum(be, buf, g, opt.momentum(), opt.nesterov());   // g' (docs/muon.md#momentum-and-nesterov)
                // The release views an n-D gradient as (size(0), −1) before NS (docs/muon.md#momentum-and-nesterov). A lone matrix stays
                // 2-D, a stack entry is [1, A, B]; a reshape may share storage, so a copy of buf, never buf itself.
                matrices[i] = names.size() == 1 ? be.reshape(nsInput, rows, cols) : be.reshape(nsInput, 1, rows, cols);
                if (nsInput != buf) nsInput.close();
                else matrices[i] = replace(matrices[i], be.copy(matrices[i]));
            }
            long t0 = System.nanoTime();
            try (Tensor stack = matrices.length == 1 ? null : be.concat(0, matrices);
                 Tensor o = opt.newtonSchulz().apply(be, stack == null ? matrices[0] : stack)) {   // O_t = NS5(g')
                nsNanos += System.nanoTime() - t0;
                nsFlop += names.size() * opt.newtonSchulz().flop(rows, cols);
                double adjustedLr = opt.adjustLr().adjust(lr, shape[0], shape[1]);
                for (int i = 0; i < matrices.length; i++) {
                    try (Tensor oi = matrices.length == 1 ? null : be.slice(o, 0, i, i + 1);
                         Tensor u = be.reshape(oi == null ? o : oi, shape)) {
                        MuonRule.applyUpdate(be, params.get(names.get(i)), u, lr, opt.weightDecay(), adjustedLr);
                        updateRms.put(names.get(i), adjustedLr * Norms.rms(be, u));   // Algorithm 1 line 14
                    }
                }
            }
        } finally {
            for (Tensor m : matrices) if (m != null) m.close();
        }
    }

    private static Tensor replace(Tensor old, Tensor next) {
        old.close();
        return next;
    }

    /** The release's internal AdamW (docs/muon.md#internal-adamw) for a parameter that is not a hidden matrix. */
    private double adamwUpdate(String name, Tensor p, Tensor g, double lr) {
        long t = state.nextStep(name);                                   // per-parameter step count
        Tensor m = state.slot(name, MOMENT1, g);
        Tensor v = state.slot(name, MOMENT2, g);
        AdamStep s = MuonRule.adamw(be, p, g, m, v, t, lr, opt);
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
