package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.optim.Muon;
import moonlight4j.optim.MuonRule;
import moonlight4j.optim.NewtonSchulz;
import moonlight4j.optim.SingularValues;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code moonlight explain}: a guided tour of Muon (docs/muon.md#moonlight-explain). One seeded {@code rows × cols}
 * weight, one seeded Gaussian gradient per step, and for each step every intermediate of the update:
 * <pre>
 *   buf = μ·buf + G                      MuonRule.momentum (the printed buffer)
 *   g'  = G + μ·buf  (or buf)            the Newton-Schulz input
 *   X₀  = g' / (‖g'‖_F + 1e-7)           NewtonSchulz with 0 of its coefficient steps: singular values in [0, 1]
 *   X_k = k quintic steps                NewtonSchulz with the first k steps: singular values move towards 1
 *   W  ← W·(1 − lr·wd) − lr·0.2·√max(A,B)·X₅
 * </pre>
 * The intermediates come from the optimizer's own classes ({@link MuonRule}, {@link NewtonSchulz} with a shortened
 * schedule; both deterministic), then {@link Muon#step} updates the weight, and the command checks that the weight
 * and momentum buffer it produced equal the ones built from the printed pieces, bit for bit. Singular values are
 * computed in fp64 from each iterate ({@link SingularValues}).
 */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = "A guided tour of one Muon step on one small seeded matrix, printing every intermediate "
                + "(momentum, Newton-Schulz singular values, the 0.2·√max(A,B) scale, the update RMS, the weight).")
final class ExplainCommand implements Callable<Integer> {

    /** The parameter's name: a hidden matrix under the release split (2-D, not an embedding or lm_head). */
    static final String PARAM = "model.layers.0.mlp.down_proj.weight";

    @Mixin
    BackendOption backend;

    @Option(names = "--rows", defaultValue = "8", description = "A, rows of the matrix (default ${DEFAULT-VALUE})")
    int rows;

    @Option(names = "--cols", defaultValue = "16", description = "B, columns of the matrix (default ${DEFAULT-VALUE})")
    int cols;

    @Option(names = "--seed", defaultValue = "1",
            description = "seed of the weight and the gradients (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--steps", defaultValue = "1",
            description = "optimizer steps to walk through (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--lr", defaultValue = "0.02", description = "learning rate (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--wd", defaultValue = "0.1", description = "weight decay (default ${DEFAULT-VALUE})")
    double wd;

    @Option(names = "--momentum", defaultValue = "0.95", description = "μ (default ${DEFAULT-VALUE})")
    double momentum;

    @Option(names = "--no-nesterov", description = "feed buf to Newton-Schulz instead of G + μ·buf")
    boolean noNesterov;

    @Option(names = "--dtype", defaultValue = "BF16",
            description = "Newton-Schulz working dtype: BF16 (the release) or F32 (default ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--show", defaultValue = "6",
            description = "values printed from the first row (default ${DEFAULT-VALUE})")
    int show;

    @Override
    public Integer call() {
        if (rows < 1 || cols < 1 || rows > 1024 || cols > 1024) {
            throw new IllegalArgumentException("explain: --rows and --cols must be in 1..1024 (a small matrix), got "
                    + rows + "×" + cols);
        }
        if (steps < 1) throw new IllegalArgumentException("explain: --steps must be ≥ 1, got " + steps);
        if (dtype != DType.BF16 && dtype != DType.F32) {
            throw new IllegalArgumentException("explain: --dtype must be BF16 or F32, got " + dtype);
        }
        PrintStream out = System.out;
        Backend be = backend.resolve();
        Muon.Options opt = Muon.Options.defaults().withWeightDecay(wd).withMomentum(momentum, !noNesterov)
                .withNewtonSchulz(NewtonSchulz.release().withDtype(dtype));
        NewtonSchulz ns = opt.newtonSchulz();
        int[] shape = {rows, cols};
        if (!opt.split().useMuon(PARAM, shape)) throw new IllegalStateException(PARAM + " is not a Muon parameter");
        double scale = opt.adjustLr().adjust(1.0, rows, cols);
        double adjustedLr = opt.adjustLr().adjust(lr, rows, cols);

        out.printf("Muon on one %d×%d matrix, seed %d: lr %s, wd %s, μ %s, Nesterov %s, Newton-Schulz %d × (a, b, c) = "
                        + "(%s, %s, %s) in %s%n", rows, cols, seed, lr, wd, momentum, noNesterov ? "off" : "on",
                ns.schedule().size(), ns.schedule().get(0).a(), ns.schedule().get(0).b(), ns.schedule().get(0).c(),
                ns.dtype());
        out.printf("parameter %s [%d, %d] → Muon (the release split: 2-D, not embed_tokens or lm_head)%n", PARAM,
                rows, cols);

        Random rng = new Random(seed);
        try (Muon muon = new Muon(be, opt); Tensor w = be.fromFloats(gaussian(rng, rows * cols, 0.02), rows, cols)) {
            for (int step = 1; step <= steps; step++) {
                out.printf("%nstep %d%n", step);
                try (Tensor g = be.fromFloats(gaussian(rng, rows * cols, 1.0), rows, cols)) {
                    explainStep(out, be, muon, opt, w, g, scale, adjustedLr);
                }
            }
        }
        return 0;
    }

    /** One step: the intermediates from the optimizer's pieces, then the real {@link Muon#step}, then the check. */
    private void explainStep(PrintStream out, Backend be, Muon muon, Muon.Options opt, Tensor w, Tensor g,
                             double scale, double adjustedLr) {
        NewtonSchulz ns = opt.newtonSchulz();
        row(out, "gradient G", be, g, "");
        Tensor buf = momentumBuffer(be, muon, g);                                      // a copy of the optimizer's
        Tensor nsInput = MuonRule.momentum(be, buf, g, opt.momentum(), opt.nesterov());
        try (Tensor wBefore = be.copy(w)) {
            row(out, "momentum buffer", be, buf, "buf = μ·buf + G");
            row(out, "Newton-Schulz input", be, nsInput, opt.nesterov() ? "g' = G + μ·buf (Nesterov)" : "g' = buf");

            Tensor o = null;
            double rmsSigma = Double.NaN;
            for (int k = 0; k <= ns.schedule().size(); k++) {
                Tensor x = ns.withSchedule(ns.schedule().subList(0, k)).apply(be, nsInput);    // X after k steps
                double[] xv = be.toDoubles(x);
                double[] sv = SingularValues.of(xv, rows, cols);
                double min = sv[0], max = sv[sv.length - 1];
                rmsSigma = rms(sv);
                if (k == 0) {
                    out.printf("  %-21s X = g'/(‖g'‖_F + 1e-7): ‖X‖_F %.6f, %s%n", "normalised X",
                            Math.sqrt(sumSquares(xv)), rows > cols
                                    ? "rows > cols: Newton-Schulz works on Xᵀ (same σ) and transposes back"
                                    : "rows ≤ cols: no transpose");
                    out.printf("  %-21s (fp64, of each iterate; %d values)%n", "singular values σ", sv.length);
                }
                out.printf("    %-19s min %.4f  max %.4f  max/min %8.2f  RMS(σ) %.4f%n",
                        k == 0 ? "normalised X" : "NS iteration " + k, min, max, max / min, rmsSigma);
                if (k == ns.schedule().size()) o = x;
                else x.close();
            }
            out.printf("  %-21s 0.2·√max(%d, %d) = %.6f; adjusted lr = lr · %.6f = %.6g%n", "scale", rows, cols,
                    scale, scale, adjustedLr);

            Map<String, Double> updateRms = muon.step(Map.of(PARAM, w), Map.of(PARAM, g), lr);    // the real step
            double u = updateRms.get(PARAM);
            out.printf("  %-21s %.6g = %.4f·lr   (0.2·RMS(σ) = %.4f: an orthogonal update would give 0.2)%n",
                    "update RMS", u, u / lr, 0.2 * rmsSigma);

            try (Tensor expected = be.copy(wBefore)) {
                MuonRule.applyUpdate(be, expected, o, lr, opt.weightDecay(), adjustedLr);
                row(out, "weight before", be, wBefore, "");
                row(out, "weight after", be, w, "W·(1 − lr·wd) − adjusted_lr·X₅");
                double dw = maxAbsDiff(be.toDoubles(w), be.toDoubles(wBefore));
                double fromPieces = maxAbsDiff(be.toDoubles(w), be.toDoubles(expected));
                double bufDiff;
                try (Tensor after = momentumBuffer(be, muon, g)) {
                    bufDiff = maxAbsDiff(be.toDoubles(after), be.toDoubles(buf));
                }
                out.printf("  %-21s max |ΔW| %.4g; Muon.step equals the pieces above: weight max |Δ| %s, "
                        + "momentum buffer max |Δ| %s%n", "check", dw, fromPieces, bufDiff);
                if (fromPieces != 0 || bufDiff != 0) {
                    throw new IllegalStateException("Muon.step differs from its pieces (weight " + fromPieces
                            + ", momentum buffer " + bufDiff + ")");
                }
            } finally {
                if (o != null) o.close();
            }
        } finally {
            if (nsInput != buf) nsInput.close();
            buf.close();
        }
    }

    /** A copy of the optimizer's momentum buffer of {@link #PARAM}, zeros before its first step. */
    private static Tensor momentumBuffer(Backend be, Muon muon, Tensor like) {
        Map<String, Tensor> state = muon.stateDict();
        Tensor buf = null;
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            if (e.getKey().equals(PARAM + "." + Muon.MOMENTUM_BUFFER)) buf = e.getValue();
            else e.getValue().close();
        }
        return buf != null ? buf : be.zeros(like.dtype(), like.shape());
    }

    /** One line: label, RMS, Frobenius norm, the first values of row 0, and a formula. */
    private void row(PrintStream out, String label, Backend be, Tensor t, String formula) {
        double[] v = be.toDoubles(t);
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < Math.min(show, cols); i++) first.append(String.format(" %+.4f", v[i]));
        out.printf("  %-21s RMS %.6g  ‖·‖_F %.6g  row 0: [%s%s ]%s%n", label, rms(v), Math.sqrt(sumSquares(v)),
                first, cols > show ? " …" : "", formula.isEmpty() ? "" : "  " + formula);
    }

    private static float[] gaussian(Random rng, int n, double std) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (rng.nextGaussian() * std);
        return f;
    }

    private static double sumSquares(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return s;
    }

    private static double rms(double[] v) {
        return Math.sqrt(sumSquares(v) / v.length);
    }

    private static double maxAbsDiff(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
