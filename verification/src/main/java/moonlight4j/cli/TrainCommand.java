package moonlight4j.cli;

import moonlight4j.train.TrainRun;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.data.ArithmeticCorpus;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.ModelShapes;
import moonlight4j.model.Parameters;
import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.train.ArithmeticExperiment;
import moonlight4j.train.MetricsCsv;
import moonlight4j.train.TrainOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code moonlight train}: without arguments, the embedded default — the tiny preset on the synthetic arithmetic
 * corpus, trained with Muon and with AdamW from the same weights, data order and token budget, then a comparison
 * table, completions, and {@code runs/arithmetic/} (metrics.csv, loss.png, summary.json, the Muon model as an HF
 * directory with its byte-level tokenizer). With {@code --dataset FILE.txt}: one run on that text.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model (default: Muon vs AdamW on the embedded arithmetic corpus).")
final class TrainCommand implements Callable<Integer> {

    @Mixin
    BackendOption backend;

    @Option(names = "--optimizer", paramLabel = "muon|adamw",
            description = "one optimizer (default: both on the arithmetic corpus, muon on --dataset)")
    String optimizer;

    @Option(names = "--dataset", paramLabel = "FILE.txt|FILE.jsonl", description = "plain UTF-8 text, byte tokens, packed "
            + "chunks; or .jsonl conversations: supervised fine-tuning of --init (SftCommand)")
    Path dataset;

    @picocli.CommandLine.Mixin
    SftFlags sft;

    @Option(names = "--preset", defaultValue = "tiny", description = "model preset (default ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--init", paramLabel = "DIR", description = "start from this HF-layout checkpoint")
    Path init;

    @Option(names = "--resume", paramLabel = "DIR", description = "resume from a checkpoint (or a run's checkpoints)")
    Path resume;

    @Option(names = "--save-every", defaultValue = "0", description = "checkpoint every N steps (0 = never)")
    int saveEvery;

    @Option(names = "--steps", defaultValue = "220", description = "optimizer steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--batch", defaultValue = "48", description = "rows per micro-batch, of all ranks together with --dist (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--seq-len", defaultValue = "64", description = "tokens per row (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--grad-accum", defaultValue = "1",
            description = "micro-batches per step, cut from one draw of batch × N rows; an epoch drops the last "
                    + "< batch × N rows (JSONL: the epoch's last step takes what is left) (default ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--lr", description = "peak lr (default 5e-3 for both: Muon reuses AdamW's lr)")
    Double lr;

    @Option(names = "--wd", defaultValue = "0.1", description = "weight decay (default ${DEFAULT-VALUE})")
    double wd;

    @Option(names = "--warmup", description = "warm-up steps (default 5%% of --steps; JSONL fine-tuning: 0)")
    Integer warmup;

    @Option(names = "--clip", defaultValue = "0", description = "global-norm gradient clipping (0 = off)")
    double clip;

    @Option(names = "--bias-update", defaultValue = "1e-3", description = "aux-free bias update speed u")
    double biasUpdate;

    @Option(names = "--seed", defaultValue = "1234", description = "seed of the weights and the data order")
    long seed;

    @Option(names = "--eval-every", defaultValue = "20", description = "validation every N steps")
    int evalEvery;

    @Option(names = "--eval-chunks", defaultValue = "64", description = "validation chunks per evaluation")
    int evalChunks;

    @Option(names = "--accuracy-samples", defaultValue = "100", description = "held-out sums for exact match")
    int accuracySamples;

    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default runs/<name>)")
    Path out;

    @Option(names = "--name", description = "run name (default arithmetic, or the dataset's file name)")
    String name;

    @picocli.CommandLine.Mixin
    DistOption dist;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (dataset != null && dataset.getFileName().toString().endsWith(".jsonl")) {   // SFT on conversations
            List<String> unused = new ArrayList<>();
            for (String o : new String[]{"--steps", "--seq-len", "--preset", "--name", "--eval-every", "--eval-chunks",
                    "--accuracy-samples"}) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) unused.add(o);
            }
            if (!unused.isEmpty()) {
                throw new IllegalArgumentException("fine-tuning on " + dataset + " (JSONL conversations) does not take "
                        + String.join(", ", unused) + ": fine-tuning runs --epochs over the conversations, starting "
                        + "from --init");
            }
            return SftCommand.run(backend, new SftCommand.Request(dataset, init, out, optimizer != null ? optimizer
                    : "muon", lr, wd, batch, seed, biasUpdate, warmup != null ? warmup : 0, clip, gradAccum, saveEvery, resume), sft, dist);
        }
        // ---- every check before any work
        List<String> sftOnly = new ArrayList<>();
        for (picocli.CommandLine.Model.OptionSpec o : spec.mixins().get("sft").options()) {   // the SftFlags mixin
            if (spec.commandLine().getParseResult().hasMatchedOption(o)) sftOnly.add(o.longestName());
        }
        if (!sftOnly.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", sftOnly) + ": only for fine-tuning on JSONL "
                    + "conversations (--dataset FILE.jsonl)");
        }
        List<String> opts = new ArrayList<>();
        if (optimizer != null) {
            if (!TrainOptions.OPTIMIZERS.contains(optimizer)) {
                throw new IllegalArgumentException("--optimizer '" + optimizer + "': expected one of "
                        + TrainOptions.OPTIMIZERS);
            }
            opts.add(optimizer);
        } else if (dataset != null || resume != null) {
            opts.add("muon");
        } else {
            opts.addAll(TrainOptions.OPTIMIZERS);
        }
        if (evalEvery < 1) throw new IllegalArgumentException("--eval-every must be ≥ 1, got " + evalEvery);
        if (evalChunks < 1) throw new IllegalArgumentException("--eval-chunks must be ≥ 1, got " + evalChunks);
        if (accuracySamples < 1) throw new IllegalArgumentException("--accuracy-samples must be ≥ 1");
        double peak = lr != null ? lr : 5e-3;
        int warm = warmup != null ? warmup : Math.max(1, steps / 20);
        TrainOptions base = new TrainOptions(opts.get(0), peak, wd, steps, batch, gradAccum, warm, clip, biasUpdate,
                seed, saveEvery);
        if (resume != null && !Files.isDirectory(resume)) {
            throw new IllegalArgumentException("--resume " + resume + ": no such directory");
        }
        if (init != null && !Files.isDirectory(init)) throw new IllegalArgumentException("--init " + init + ": no such directory");
        MoonlightConfig cfg = textConfig();
        TokenDataset train = dataset == null ? ArithmeticExperiment.trainSet(seed, seqLen)
                : TokenDataset.textFile(dataset, seqLen);
        TokenDataset val = dataset == null ? ArithmeticExperiment.heldOutSet(seqLen) : null;
        if ((long) batch * gradAccum > train.size()) {
            throw new IllegalArgumentException("--batch " + batch + (gradAccum > 1 ? " × --grad-accum " + gradAccum : "")
                    + " is larger than the data: " + train.name() + " has " + train.size() + " chunks of " + seqLen
                    + " tokens");
        }
        String runName = name != null ? name : dataset == null ? "arithmetic" : stem(dataset);
        Path dir = out != null ? out : Path.of("runs", runName);
        Backend be = backend.resolve();
        Parameters initial = initialWeights(be, cfg);    // also checks --init against the config
        OutputDir.checkWritable(out != null ? "--out" : "the run directory", dir);

        // ---- the runs
        System.out.printf(Locale.ROOT, "model: %s, %,d parameters; data: %s, %d chunks × %d tokens; %d steps × %d "
                        + "tokens%n", preset, initial.numel(), train.name(), train.size(), seqLen, steps,
                base.tokensPerStep(seqLen));
        List<String> matrices = new ArrayList<>();
        for (String n : initial.names()) if (initial.get(n).rank() == 2) matrices.add(n);
        List<TrainRun.Result> results = new ArrayList<>();
        if (dist.enabled()) {
            results = DistTrain.run(dist, be, cfg, initial, train, val, base, opts, dir, matrices, evalEvery, evalChunks,
                    resume);
            if (results == null) return 0;                              // mpi rank > 0: rank 0 reports
        } else try (MetricsCsv metrics = new MetricsCsv(dir.resolve("metrics.csv"), matrices)) {
            for (String o : opts) {
                Parameters p = copy(be, initial);
                TrainOptions to = base.withOptimizer(o, peak, wd);
                results.add(TrainRun.run(be, cfg, p, train, val, to, resume, dir.resolve(o), metrics, evalEvery,
                        evalChunks, false));
            }
        }
        TrainReport.write(be, dir, cfg, train, val, results, evalChunks, accuracySamples, dataset == null);

        // ---- the first run's (Muon's) model as a complete model directory
        TrainRun.Result first = results.get(0);
        Path modelDir = dir.resolve("model-" + first.optimizer());
        try {
            MoonlightCheckpoint.save(modelDir, cfg, first.trainer().parameters());
            ByteVocabulary.write(modelDir);
        } catch (java.io.IOException e) {                           // a full disk names no file by itself
            throw new java.io.IOException("writing the model to " + modelDir + ": "
                    + moonlight4j.train.IoErrors.describe(e), e);
        }
        results.forEach(r -> r.trainer().close());
        System.out.println("model (" + first.optimizer() + "): " + modelDir.toAbsolutePath());
        return 0;
    }

    private MoonlightConfig textConfig() {
        return ArithmeticExperiment.byteVocabularyConfig(preset);
    }

    /**
     * config.json fields that may differ between {@code --init}'s model and this run: the weights' dtype and the
     * special-token ids, which do not change what the weights compute (a directory may carry the tiny preset's 1/2).
     */
    private static final java.util.Set<String> INIT_IGNORED =
            java.util.Set.of("torch_dtype", "bos_token_id", "eos_token_id");

    private Parameters initialWeights(Backend be, MoonlightConfig cfg) throws java.io.IOException {
        if (init == null) return ArithmeticExperiment.init(be, cfg, seed);
        MoonlightCheckpoint.Loaded l = MoonlightCheckpoint.load(init, be);
        if (!l.config().toJson().equals(cfg.toJson())) {
            ObjectNode a = l.config().toJson(), b = cfg.toJson();
            List<String> d = new ArrayList<>();
            a.fieldNames().forEachRemaining(f -> {
                if (!INIT_IGNORED.contains(f) && !a.get(f).equals(b.get(f))) d.add(f + " " + a.get(f) + " vs " + b.get(f));
            });
            if (!d.isEmpty()) {
                throw new IllegalArgumentException("--init " + init + ": config differs from this run's: " + d);
            }
        }
        return l.parameters();
    }

    private static Parameters copy(Backend be, Parameters p) {
        Parameters c = new Parameters();
        for (String n : p.names()) c.put(n, be.copy(p.get(n)));
        return c;
    }

    private static String stem(Path p) {
        String f = p.getFileName().toString();
        int dot = f.lastIndexOf('.');
        return dot > 0 ? f.substring(0, dot) : f;
    }

    static final ObjectMapper JSON = new ObjectMapper();
}
