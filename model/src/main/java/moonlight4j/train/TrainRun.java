package moonlight4j.train;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.train.MetricsCsv;
import moonlight4j.train.StepReport;
import moonlight4j.train.TrainCheckpoint;
import moonlight4j.train.TrainOptions;
import moonlight4j.train.Trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One training run of the {@code train} command: the step loop with a progress bar (step, loss, lr, tokens/s,
 * ETA), metrics rows, periodic validation and checkpoints.
 */
public final class TrainRun {

    /** What a finished run measured. */
    public record Result(String optimizer, Trainer trainer, List<double[]> trainCurve, List<double[]> valCurve,
                  double tokensPerSecond, double optimizerShare, long tokens) {
    }

    private TrainRun() {
    }

    public static Result run(Backend be, MoonlightConfig cfg, Parameters params, TokenDataset train, TokenDataset val,
                      TrainOptions opt, Path resume, Path runDir, MetricsCsv metrics, int evalEvery, int evalChunks,
                      boolean quiet) throws IOException {
        return run(be, cfg, params, train, val, opt, resume, runDir, metrics, evalEvery, evalChunks, quiet, null);
    }

    /** {@code comm}: data-parallel rank (issue 8); a rank other than 0 passes {@code metrics == null}, no val. */
    public static Result run(Backend be, MoonlightConfig cfg, Parameters params, TokenDataset train, TokenDataset val,
                      TrainOptions opt, Path resume, Path runDir, MetricsCsv metrics, int evalEvery, int evalChunks,
                      boolean quiet, Collective comm) throws IOException {
        Trainer t = new Trainer(be, cfg, params, train, opt, comm);
        if (resume != null) {
            Path ck = TrainCheckpoint.resolve(resume);
            TrainCheckpoint.checkCompatible(ck, t, train.name());
            int savedRanks = TrainCheckpoint.worldSize(ck), ranks = comm == null ? 1 : comm.worldSize();
            TrainCheckpoint.restore(ck, t, be);
            if (!quiet) {
                System.out.println("resumed " + opt.optimizer() + " from " + ck + " at step " + t.stepCount()
                        + (savedRanks == ranks ? "" : " (optimizer state re-partitioned from " + savedRanks + " to "
                        + ranks + " rank" + (ranks == 1 ? "" : "s") + ")"));
            }
        }
        List<double[]> trainCurve = new ArrayList<>(), valCurve = new ArrayList<>();
        double seconds = 0, optSeconds = 0;
        long tokensRun = 0;
        long tokensPerStep = opt.tokensPerStep(train.seqLen());
        ProgressBarBuilder pbb = new ProgressBarBuilder().setTaskName(opt.optimizer()).setInitialMax(opt.steps())
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setMaxRenderedLength(150);
        if (quiet) pbb.setConsumer(new me.tongfei.progressbar.DelegatingProgressBarConsumer(s -> { }));
        try (ProgressBar pb = pbb.build()) {
            pb.stepTo(t.stepCount());
            while (t.stepCount() < opt.steps()) {
                StepReport r = t.step();
                seconds += r.seconds();
                optSeconds += r.optimizerSeconds();
                tokensRun += r.tokens();
                long tokens = (long) r.step() * tokensPerStep;
                trainCurve.add(new double[]{tokens, r.loss()});
                double v = Double.NaN;
                if (val != null && (r.step() % evalEvery == 0 || r.step() == opt.steps())) {
                    v = t.evaluate(val, evalChunks);
                    valCurve.add(new double[]{tokens, v});
                }
                if (metrics != null) metrics.row(opt.optimizer(), r, tokens, v, t.weightRms());
                pb.stepTo(r.step());
                pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e %.0f tok/s", r.loss(), r.lr(),
                        tokensRun / seconds));
                if (opt.saveEvery() > 0 && r.step() % opt.saveEvery() == 0) {
                    TrainCheckpoint.save(t, runDir.resolve("checkpoints"), train.name(), TrainCheckpoint.SaveHook.NONE);
                }
            }
        }
        return new Result(opt.optimizer(), t, trainCurve, valCurve, seconds > 0 ? tokensRun / seconds : Double.NaN,
                seconds > 0 ? optSeconds / seconds : Double.NaN, tokensRun);
    }
}
