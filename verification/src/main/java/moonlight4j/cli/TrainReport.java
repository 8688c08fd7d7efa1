package moonlight4j.cli;

import moonlight4j.train.TrainRun;
import moonlight4j.train.LossPlot;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.data.ArithmeticCorpus;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.train.ArithmeticExperiment;
import moonlight4j.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The end of a {@code train} command: comparison table, completions, summary.json and loss.png. */
final class TrainReport {

    /** The prompt the trained model must answer (every single-digit sum is in the training split). */
    static final String PROMPT = "1+1=2, 1+2=";

    private TrainReport() {
    }

    static void write(Backend be, Path dir, MoonlightConfig cfg, TokenDataset train, TokenDataset val,
                      List<TrainRun.Result> results, int evalChunks, int accuracySamples, boolean arithmetic)
            throws IOException {
        ObjectNode summary = TrainCommand.JSON.createObjectNode();
        summary.put("train_dataset", train.name()).put("seq_len", train.seqLen());
        summary.set("config", cfg.toJson());
        ArrayNode runs = summary.putArray("runs");
        System.out.println();
        System.out.printf(Locale.ROOT, "%-8s %12s %12s %10s %10s %9s %16s %16s%n", "run", "train loss", "val loss",
                "held-out", "tokens/s", "opt share", "opt state bytes", "(Muon matrices)");
        List<LossPlot.Curve> curves = new ArrayList<>();
        for (TrainRun.Result r : results) {
            Trainer t = r.trainer();
            double trainLoss = t.evaluate(train, evalChunks);
            double valLoss = val == null ? Double.NaN : t.evaluate(val, evalChunks);
            MoonlightModel m = t.model();
            m.training(false);
            double acc = arithmetic ? ArithmeticExperiment.heldOutAccuracy(m, accuracySamples) : Double.NaN;
            long bytes = t.optimizerStateBytes(false), matrixBytes = t.optimizerStateBytes(true);
            System.out.printf(Locale.ROOT, "%-8s %12.4f %12.4f %9.1f%% %10.0f %8.1f%% %16d %16d%n", r.optimizer(),
                    trainLoss, valLoss, 100 * acc, r.tokensPerSecond(), 100 * r.optimizerShare(), bytes, matrixBytes);
            ObjectNode o = runs.addObject();
            o.put("optimizer", r.optimizer()).put("steps", t.stepCount()).put("tokens", r.tokens())
                    .put("lr", t.options().lr()).put("weight_decay", t.options().weightDecay())
                    .put("final_train_loss", trainLoss).put("final_val_loss", valLoss)
                    .put("held_out_exact_match", acc).put("held_out_samples", accuracySamples)
                    .put("tokens_per_second", r.tokensPerSecond()).put("optimizer_time_share", r.optimizerShare())
                    .put("optimizer_state_bytes", bytes).put("optimizer_state_bytes_muon_matrices", matrixBytes);
            ArrayNode comp = o.putArray("completions");
            if (arithmetic) {
                List<String> prompts = new ArrayList<>(List.of(PROMPT));
                for (ArithmeticCorpus.Fact f : ArithmeticCorpus.heldOutFacts().subList(0, 4)) {
                    prompts.add(ArithmeticCorpus.fewShot(f));
                }
                for (String p : prompts) {
                    String c = ArithmeticExperiment.complete(m, p, 4);
                    comp.addObject().put("prompt", p).put("completion", c);
                }
            }
            m.training(true);
            curves.add(new LossPlot.Curve(r.optimizer() + " train", r.trainCurve()));
            if (!r.valCurve().isEmpty()) curves.add(new LossPlot.Curve(r.optimizer() + " held-out", r.valCurve()));
        }
        System.out.println();
        for (var run : runs) {
            for (var c : run.get("completions")) {
                System.out.printf("%-6s %-16s → %s%n", run.get("optimizer").asText(), c.get("prompt").asText(),
                        c.get("completion").asText());
            }
        }
        if (results.size() == 2) {
            double a = runs.get(0).get("optimizer_state_bytes_muon_matrices").asDouble();
            double b = runs.get(1).get("optimizer_state_bytes_muon_matrices").asDouble();
            System.out.printf(Locale.ROOT, "optimizer state of the Muon-managed matrices: %s / %s = %.3f%n",
                    results.get(0).optimizer(), results.get(1).optimizer(), a / b);
        }
        Files.writeString(dir.resolve("summary.json"),
                TrainCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
        LossPlot.save(dir.resolve("loss.png"), "loss vs tokens (" + train.name() + ")", curves);
        System.out.println("wrote " + dir.resolve("metrics.csv") + ", " + dir.resolve("loss.png") + ", "
                + dir.resolve("summary.json"));
    }
}
