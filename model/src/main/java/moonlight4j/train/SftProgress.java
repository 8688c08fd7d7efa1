package moonlight4j.train;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import moonlight4j.data.SftDataset;
import moonlight4j.sft.SftOptions;
import moonlight4j.sft.SftTrainer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A fine-tuning run as the user watches it: a progress bar (step, loss, lr, tokens/s, ETA), a log line every
 * {@code logEvery} steps, the validation loss before and after every epoch; then {@link Report#write} puts
 * {@code metrics.csv} (one row per step, validation rows with {@code split=validation}) and {@code loss.png} next to
 * the model (after it is saved: saving replaces the model directory as a whole).
 */
public final class SftProgress {

    private SftProgress() {
    }

    /** What a run measured: the CSV text and the two curves. */
    public record Report(String title, String csv, List<double[]> train, List<double[]> validation) {
        public void write(Path out) throws IOException {
            Files.writeString(out.resolve("metrics.csv"), csv, StandardCharsets.UTF_8);
            LossPlot.save(out.resolve("loss.png"), title, List.of(new LossPlot.Curve("train", train),
                    new LossPlot.Curve("validation", validation)));
            System.out.println("metrics.csv and loss.png written to " + out);
        }
    }

    /** What runs after each step (a checkpoint). */
    public interface AfterStep {
        void accept(SftTrainer.Step s) throws IOException;
    }

    /**
     * {@code quiet}: a data-parallel rank other than 0 trains without printing. It still validates when rank 0 does,
     * so no rank waits for rank 0 in the next collective for as long as a validation pass takes.
     */
    public static Report train(SftTrainer t, SftDataset data, SftOptions opt, int logEvery, boolean quiet, AfterStep after)
            throws IOException {
        boolean hasVal = !data.validation().isEmpty();
        List<double[]> trainCurve = new ArrayList<>(), valCurve = new ArrayList<>();
        long[] tokens = {t.tokensSeen()};                                   // carried across a resume
        long t0Tokens = tokens[0];
        double[] seconds = {0};
        StringWriter text = new StringWriter();
        try (BufferedWriter csv = new BufferedWriter(text)) {
            csv.write("split,epoch,step,tokens,loss,lr,grad_norm,targets,seconds\n");
            if (hasVal) {
                double v = t.loss(data.validationBatches(opt.batchSize()));
                if (quiet) {
                    // nothing to print
                } else if (t.steps() == 0) {
                    System.out.printf(Locale.ROOT, "validation loss before: %.4f%n", v);
                } else {
                    System.out.printf(Locale.ROOT, "validation loss at resume (step %d): %.4f%n", t.steps(), v);
                }
                valCurve.add(new double[]{tokens[0], v});
                csv.write(String.format(Locale.ROOT, "validation,%d,%d,%d,%.6f,,,,%n", t.epoch(), t.steps(), tokens[0], v));
            }
            ProgressBarBuilder pbb = new ProgressBarBuilder().setTaskName("sft").setInitialMax(t.totalSteps(data))
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setMaxRenderedLength(150);
            pbb.startsFrom(t.steps(), java.time.Duration.ZERO);               // a resumed run's ETA: only new steps
            if (quiet) pbb.setConsumer(new me.tongfei.progressbar.DelegatingProgressBarConsumer(line -> { }));
            try (ProgressBar pb = pbb.build()) {
                t.train(data, s -> {
                    try {
                        tokens[0] += s.tokens();
                        seconds[0] += s.seconds();
                        trainCurve.add(new double[]{tokens[0], s.loss()});
                        csv.write(String.format(Locale.ROOT, "train,%d,%d,%d,%.6f,%.6g,%.6g,%d,%.4f%n", s.epoch(),
                                s.step(), tokens[0], s.loss(), s.lr(), s.gradNorm(), s.targets(), s.seconds()));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    pb.stepTo(s.step());
                    pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e %.0f tok/s", s.loss(), s.lr(),
                            (tokens[0] - t0Tokens) / seconds[0]));
                    try {
                        after.accept(s);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    if (!quiet && s.step() % logEvery == 0) {
                        System.out.printf(Locale.ROOT, "epoch %d step %d loss %.4f lr %.3g (%d tokens)%n", s.epoch(),
                                s.step(), s.loss(), s.lr(), s.targets());
                    }
                }, epoch -> {
                    if (!hasVal) return;
                    try {
                        double v = validate(t, data, opt, csv, valCurve, epoch, t.steps(), tokens[0]);
                        if (quiet) return;
                        if (epoch == opt.epochs() - 1) System.out.printf(Locale.ROOT, "validation loss after:  %.4f%n", v);
                        else System.out.printf(Locale.ROOT, "validation loss after epoch %d: %.4f%n", epoch, v);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
        }
        if (!quiet) {
            System.out.printf(Locale.ROOT, "%d steps, %,d tokens, %.0f tokens/s%n", t.steps(), tokens[0],
                    seconds[0] > 0 ? (tokens[0] - t0Tokens) / seconds[0] : Double.NaN);
        }
        return new Report("fine-tuning loss (" + opt.optimizer() + (opt.lora() ? ", LoRA r " + opt.loraRank() : ", full")
                + ")", text.toString(), trainCurve, valCurve);
    }

    private static double validate(SftTrainer t, SftDataset data, SftOptions opt, BufferedWriter csv,
                                   List<double[]> curve, int epoch, int step, long tokens) throws IOException {
        double v = t.loss(data.validationBatches(opt.batchSize()));
        curve.add(new double[]{tokens, v});
        csv.write(String.format(Locale.ROOT, "validation,%d,%d,%d,%.6f,,,,%n", epoch, step, tokens, v));
        return v;
    }
}
