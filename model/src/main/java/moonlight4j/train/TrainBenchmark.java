package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code bench train}: full fp32 training steps (forward, backward, optimizer, bias update) of a randomly initialised
 * model on random tokens, for Muon and AdamW on each backend given, one line each: median ms per step, tokens/s,
 * model FLOP/s ({@link TrainingFlops}) and MFU against the fp32 peak, then the step split into forward, backward and
 * optimizer (with Newton–Schulz's time and GFLOP/s), each compared with the backend's own GEMM rate measured in the
 * same run. The GEMM rates and the {@link FmaProbe} are measured before and after the steps and the faster reading
 * of each is kept; the peak is the larger of {@code peak} (or, when 0, the probe) and the best GEMM rate, so MFU is
 * never flattered by a peak read in a slow minute (this machine's speed moves by 2× from minute to minute: one run
 * that measured only before the steps read a 41 GFLOP/s GEMM and printed an MFU of 103%). Nor is the peak below the
 * fastest forward + backward of the steps themselves (model FLOP over their time): one run read 82 and 102 before and
 * after, while its steps ran at 99, and printed an AdamW MFU of 85%. The lines are printed once everything is
 * measured, progress goes to standard error.
 */
public final class TrainBenchmark {

    /** The GEMM that measures a backend's rate: 1024 × 1024 × 1024 fp32, the size of the model's larger products. */
    static final int GEMM_SIDE = 1024;

    private TrainBenchmark() {
    }

    /**
     * Medians over the timed steps of one backend and optimizer, in seconds: the whole step, forward, backward, the
     * optimizer update and Newton–Schulz within it; the NS FLOP of a step and the backend's GEMM rate (GFLOP/s).
     */
    public record Result(String backend, String optimizer, double step, double forward, double backward,
                         double update, double newtonSchulz, double nsFlop, double gemmGflops) {

        /** This result with the backend's GEMM rate. */
        Result withGemm(double gflops) {
            return new Result(backend, optimizer, step, forward, backward, update, newtonSchulz, nsFlop, gflops);
        }
    }

    public static List<Result> run(List<Backend> backends, String preset, int batch, int seq, int warmup, int reps,
                                   double peakFlag, PrintStream out) {
        MoonlightConfig cfg = MoonlightConfig.preset(preset);
        TrainingFlops flops = TrainingFlops.of(cfg, batch, seq);
        int n = backends.size(), threads = Runtime.getRuntime().availableProcessors();
        // the machine's speed is measured before and after the steps and the faster reading kept: a reading taken
        // in a slow minute would make every percentage below look better than it is
        double[] gemmBefore = new double[n], gemmAfter = new double[n];
        for (int i = 0; i < n; i++) gemmBefore[i] = gemmGflops(backends.get(i));
        double probeBefore = peakFlag > 0 ? peakFlag : FmaProbe.gflops(threads);
        out.printf(Locale.ROOT, "bench train %s %dx%d: %,d tokens/step, model %.1f GFLOP/step (6·%.1fM·tokens + "
                        + "attention %.1f GFLOP), %d timed steps after %d warm-up per line%n", preset, batch, seq,
                flops.tokens(), flops.perStep() / 1e9, flops.matmulWeights() / 1e6, flops.attentionPerStep() / 1e9,
                reps, warmup);
        out.flush();
        TokenDataset data = randomTokens(cfg, batch, seq);
        List<List<Result>> measured = new java.util.ArrayList<>();              // per backend, per optimizer
        for (Backend be : backends) {
            List<Result> lines = new java.util.ArrayList<>();
            for (String o : TrainOptions.OPTIMIZERS) {
                System.err.printf(Locale.ROOT, "bench train: %s %s ...%n", be.name(), o);
                lines.add(measure(be, cfg, data, o, batch, warmup, reps));
            }
            measured.add(lines);
        }
        for (int i = 0; i < n; i++) gemmAfter[i] = gemmGflops(backends.get(i));
        double probeAfter = peakFlag > 0 ? peakFlag : FmaProbe.gflops(threads);
        double[] gemm = new double[n];
        double bestGemm = 0;
        StringBuilder gemms = new StringBuilder();
        for (int i = 0; i < n; i++) {
            gemm[i] = Math.max(gemmBefore[i], gemmAfter[i]);
            bestGemm = Math.max(bestGemm, gemm[i]);
            gemms.append(String.format(Locale.ROOT, "%s%s %.1f / %.1f", i == 0 ? "" : ", ", backends.get(i).name(),
                    gemmBefore[i], gemmAfter[i]));
        }
        // the model's own products are work the machine did too: a forward + backward faster than every reading
        // above shows the machine was faster during the steps than when it was measured
        double fastestModel = 0;
        for (List<Result> lines : measured) {
            for (Result r : lines) fastestModel = Math.max(fastestModel, flops.perStep() / (r.forward() + r.backward()) / 1e9);
        }
        double probe = Math.max(probeBefore, probeAfter), peak = Math.max(Math.max(probe, bestGemm), fastestModel);
        String probeText = peakFlag > 0 ? String.format(Locale.ROOT, "--peak %.1f", peakFlag)
                : String.format(Locale.ROOT, "FMA probe %.1f / %.1f", probeBefore, probeAfter);
        out.printf(Locale.ROOT, "fp32 peak %.1f GFLOP/s = max(%s, best GEMM %d³ %.1f, fastest forward + backward "
                + "%.1f); GEMM GFLOP/s before / after the steps: %s%n", peak, probeText, GEMM_SIDE, bestGemm,
                fastestModel, gemms);
        List<Result> results = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (Result r : measured.get(i)) {
                Result res = r.withGemm(gemm[i]);
                results.add(res);
                out.println(line(res, flops, peak));
            }
        }
        return results;
    }

    /** One line's steps; its GEMM rate is left at 0 for {@link Result#withGemm} once the rates are measured. */
    private static Result measure(Backend be, MoonlightConfig cfg, TokenDataset data, String optimizer, int batch,
                                  int warmup, int reps) {
        TrainOptions opt = new TrainOptions(optimizer, 1e-3, 0.1, warmup + reps, batch, 1, 0, 0, 1e-3, 1, 0);
        moonlight4j.model.Parameters params = ModelInit.random(cfg, be, DType.F32, 1);
        try (Trainer t = new Trainer(be, cfg, params, data, opt)) {
            for (int i = 0; i < warmup; i++) t.step();
            double[] step = new double[reps], fwd = new double[reps], bwd = new double[reps], upd = new double[reps],
                    ns = new double[reps];
            double nsFlop = 0;
            for (int i = 0; i < reps; i++) {
                StepReport s = t.step();
                step[i] = s.seconds();
                fwd[i] = s.forwardSeconds();
                bwd[i] = s.backwardSeconds();
                upd[i] = s.optimizerSeconds();
                ns[i] = s.nsSeconds();
                nsFlop = s.nsFlop();
            }
            return new Result(be.name(), optimizer, median(step), median(fwd), median(bwd), median(upd), median(ns),
                    nsFlop, 0);
        } finally {
            params.closeAll();                 // native backends free the weights now, not when a GC gets to them
        }
    }

    /** Four steps' worth of seeded random tokens of {@code cfg}'s vocabulary in rows of {@code seq}. */
    static TokenDataset randomTokens(MoonlightConfig cfg, int batch, int seq) {
        Random r = new Random(42);
        long[] ids = new long[batch * seq * 4];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
        return new TokenDataset("random", ids, seq);
    }

    /** One line per backend and optimizer; contains {@code MFU x.x%}. */
    static String line(Result r, TrainingFlops flops, double peak) {
        double modelRate = flops.perStep() / r.step() / 1e9;
        double fwdBwdRate = flops.perStep() / (r.forward() + r.backward()) / 1e9;
        String ns = r.nsFlop() == 0 ? "" : String.format(Locale.ROOT, "; Newton–Schulz %,.0f ms, %.1f GFLOP/s = %.0f%% "
                + "of GEMM", 1e3 * r.newtonSchulz(), r.nsFlop() / r.newtonSchulz() / 1e9,
                100 * r.nsFlop() / r.newtonSchulz() / 1e9 / r.gemmGflops());
        return String.format(Locale.ROOT, "%-5s %-5s %,9.0f ms/step %,7.0f tokens/s %6.1f GFLOP/s  MFU %.1f%% | "
                        + "forward %,.0f ms, backward %,.0f ms: %.1f GFLOP/s = %.0f%% of GEMM %.1f | optimizer %,.0f ms "
                        + "(%.1f%% of step%s)", r.backend(), r.optimizer(), 1e3 * r.step(), flops.tokens() / r.step(),
                modelRate, 100 * modelRate / peak, 1e3 * r.forward(), 1e3 * r.backward(), fwdBwdRate,
                100 * fwdBwdRate / r.gemmGflops(), r.gemmGflops(), 1e3 * r.update(), 100 * r.update() / r.step(), ns);
    }

    /** Median GFLOP/s of a {@value #GEMM_SIDE}³ fp32 product on {@code be}, after warm-up. */
    static double gemmGflops(Backend be) {
        Random rnd = new Random(7);
        float[] x = new float[GEMM_SIDE * GEMM_SIDE];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        try (Tensor a = be.fromFloats(x, GEMM_SIDE, GEMM_SIDE); Tensor b = be.fromFloats(x, GEMM_SIDE, GEMM_SIDE)) {
            double[] sec = new double[7];
            for (int i = -2; i < sec.length; i++) {
                long t0 = System.nanoTime();
                try (Tensor c = be.matmul(a, b, false, false); Tensor s = be.sumAll(c)) {
                    be.item(s);                                   // completion on asynchronous backends
                }
                if (i >= 0) sec[i] = (System.nanoTime() - t0) / 1e9;
            }
            return 2.0 * GEMM_SIDE * GEMM_SIDE * GEMM_SIDE / median(sec) / 1e9;
        }
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
