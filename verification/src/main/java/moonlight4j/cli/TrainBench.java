package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.train.StepReport;
import moonlight4j.train.TrainOptions;
import moonlight4j.train.Trainer;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * {@code moonlight bench train --preset NAME --shape BxT}: full fp32 training steps (forward, backward, optimizer,
 * bias update) of a randomly initialised model on random tokens, for Muon and for AdamW: median ms per step,
 * tokens/s = B·T / median, and the median share of a step spent in the optimizer update.
 */
final class TrainBench {

    private TrainBench() {
    }

    static void run(Backend be, String preset, int batch, int seq, int warmup, int reps) {
        MoonlightConfig cfg = MoonlightConfig.preset(preset == null ? "tiny" : preset);
        Random r = new Random(42);
        long[] ids = new long[batch * seq * 4];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
        TokenDataset data = new TokenDataset("random", ids, seq);
        for (String o : TrainOptions.OPTIMIZERS) {
            TrainOptions opt = new TrainOptions(o, 1e-3, 0.1, warmup + reps, batch, 1, 0, 0, 1e-3, 1, 0);
            try (Trainer t = new Trainer(be, cfg, ModelInit.random(cfg, be, moonlight4j.api.DType.F32, 1), data, opt)) {
                for (int i = 0; i < warmup; i++) t.step();
                double[] sec = new double[reps], share = new double[reps];
                for (int i = 0; i < reps; i++) {
                    StepReport s = t.step();
                    sec[i] = s.seconds();
                    share[i] = s.optimizerSeconds() / s.seconds();
                }
                Arrays.sort(sec);
                Arrays.sort(share);
                double med = sec[reps / 2];
                System.out.printf(Locale.ROOT, "train step %s %dx%d (%s) on %s: median %.1f ms/step (min %.1f, max %.1f; "
                                + "%d reps after %d warm-up), %.0f tokens/s, optimizer update %.1f%% of the step%n",
                        cfg == null ? "" : (preset == null ? "tiny" : preset), batch, seq, o, be.name(), 1e3 * med,
                        1e3 * sec[0], 1e3 * sec[reps - 1], reps, warmup, batch * seq / med, 100 * share[reps / 2]);
            }
        }
    }
}
