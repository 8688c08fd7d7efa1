package moonlight4j.cli;

import moonlight4j.train.SftProgress;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.data.SftDataset;
import moonlight4j.lora.LoraMerge;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.Parameters;
import moonlight4j.optim.ParamSplit;
import moonlight4j.sft.SftCheckpoint;
import moonlight4j.sft.SftOptions;
import moonlight4j.sft.SftTrainer;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.TiktokenLoader;
import moonlight4j.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;

/**
 * {@code moonlight sft --dataset FILE.jsonl --init DIR --out DIR}: supervised fine-tuning of an HF-layout model on
 * ms-swift-style conversations ({@link SftDataset}: chat template, loss on assistant tokens only, right padding,
 * seeded shuffle, validation split). Full fine-tuning (every weight, the MoE router included) writes a model
 * directory; {@code --lora-rank R} trains PEFT LoRA adapters instead and writes {@code adapter_config.json} +
 * {@code adapter_model.safetensors} ({@code --merge-lora} also writes the merged model to {@code OUT/merged}).
 */
@Command(name = "sft", mixinStandardHelpOptions = true,
        description = "Supervised fine-tuning (full or LoRA) on JSONL conversations {\"messages\": [...]}.")
final class SftCommand implements Callable<Integer> {

    @Option(names = "--dataset", required = true, paramLabel = "FILE", description = "JSON Lines, one conversation per line")
    Path dataset;

    @Option(names = "--init", required = true, paramLabel = "DIR",
            description = "HF-layout model to start from (config.json, safetensors, tiktoken.model, tokenizer_config.json)")
    Path init;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "where the model or adapter is written")
    Path out;

    @Option(names = "--optimizer", defaultValue = "muon", description = "muon (default) or adamw")
    String optimizer;

    @Option(names = "--lr", paramLabel = "LR", description = "learning rate (default 1e-5 full, 1e-4 LoRA)")
    Double lr;

    @Option(names = "--weight-decay", defaultValue = "0.1", description = "default ${DEFAULT-VALUE}")
    double weightDecay;

    @Option(names = "--batch-size", defaultValue = "8",
            description = "conversations per step, of all ranks together with --dist (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--seed", defaultValue = "42", description = "shuffle, split and LoRA init (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--bias-update", defaultValue = "1e-3",
            description = "full fine-tuning: aux-free bias update speed u (SPEC §5; default ${DEFAULT-VALUE})")
    double biasUpdate;

    @Option(names = "--warmup", defaultValue = "0", description = "warm-up steps (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--clip", defaultValue = "0", description = "global-norm gradient clipping (0 = off, the default)")
    double clip;

    @Option(names = "--grad-accum", defaultValue = "1", description = "batches per optimizer step (default ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--save-every", defaultValue = "0",
            description = "checkpoint every N steps into OUT.checkpoints/ (0 = never, the default)")
    int saveEvery;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue from a checkpoint (or OUT.checkpoints/)")
    Path resume;

    @Mixin
    SftFlags flags;

    @Mixin
    DistOption dist;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        return run(backend, new Request(dataset, init, out, optimizer, lr, weightDecay, batchSize, seed, biasUpdate,
                warmup, clip, gradAccum, saveEvery, resume), flags, dist);
    }

    /** The settings {@code sft} and {@code train --dataset FILE.jsonl} share (their own flags, SftFlags aside). */
    record Request(Path dataset, Path init, Path out, String optimizer, Double lr, double weightDecay, int batchSize,
                   long seed, double biasUpdate, int warmup, double clip, int gradAccum, int saveEvery, Path resume) {
    }

    /** Where the checkpoints of a run writing {@code out} go: beside it, since saving the model replaces {@code out}. */
    static Path checkpointDir(Path out) {
        Path abs = out.toAbsolutePath().normalize();                       // "." or "runs/x/" name a directory too
        if (abs.getParent() == null) throw new IllegalArgumentException("--out " + out + ": checkpoints go beside it, "
                + "so it cannot be the filesystem root");
        return abs.resolveSibling(abs.getFileName() + ".checkpoints");
    }

    /** The fine-tuning run; {@code moonlight train --dataset FILE.jsonl} comes here too. */
    static int run(BackendOption backend, Request r, SftFlags f, DistOption dist) throws Exception {
        Path dataset = r.dataset(), init = r.init(), out = r.out();
        if (dist.enabled() && (r.saveEvery() > 0 || r.resume() != null)) {
            throw new IllegalArgumentException("--save-every/--resume with --dist: fine-tuning checkpoints are written by "
                    + "one process (the ZeRO-1 optimizer state of a data-parallel run is sharded); run without them");
        }
        if (r.saveEvery() < 0) throw new IllegalArgumentException("--save-every must be ≥ 0, got " + r.saveEvery());
        if (r.resume() != null && !Files.isDirectory(r.resume())) {
            throw new IllegalArgumentException("--resume " + r.resume() + ": no such directory");
        }
        if (init == null) {
            throw new IllegalArgumentException("fine-tuning on " + dataset + " needs --init DIR: an HF model directory "
                    + "with its tokenizer (tiktoken.model, tokenizer_config.json), e.g. the model train writes");
        }
        if (out == null) throw new IllegalArgumentException("fine-tuning needs --out DIR");
        if (f.mergeLora && f.loraRank == 0) throw new IllegalArgumentException("--merge-lora needs --lora-rank");
        for (String file : new String[]{TiktokenLoader.RANKS_FILE, TiktokenLoader.CONFIG_FILE}) {
            if (!Files.isRegularFile(init.resolve(file))) {
                throw new IllegalArgumentException("model directory " + init + " has no tokenizer file " + file);
            }
        }
        SftOptions opt = new SftOptions(r.optimizer(), r.lr() != null ? r.lr() : f.loraRank > 0 ? 1e-4 : 1e-5,
                r.weightDecay(), f.epochs, r.batchSize(), r.seed(), f.loraRank, f.loraAlpha, f.loraTargets,
                r.biasUpdate(), f.lrSchedule, r.warmup(), r.clip(), r.gradAccum());
        Backend be = backend.resolve();
        Tokenizer tok = TiktokenLoader.load(init);
        MoonlightCheckpoint.Loaded base = MoonlightCheckpoint.load(init, be);
        int context = base.config().maxPositionEmbeddings();
        SftDataset data = SftDataset.load(dataset, tok, ChatTemplate.fromModelDir(init),
                f.maxLength != null ? f.maxLength : context, f.validationFraction, r.seed(), f.skipBadLines);
        if (!dist.enabled()) {
            fineTune(be, r, f, base, data, opt, null);
            return 0;
        }
        dist.launch(c -> {
            try {
                // ranks that are threads of this JVM (every engine but mpi) each need their own copy of the weights;
                // rank 0 trains the loaded ones
                Parameters mine = base.parameters();
                boolean copied = !c.engine().equals("mpi") && c.rank() > 0;
                if (copied) {
                    mine = new Parameters();
                    for (String n : base.parameters().names()) mine.put(n, be.copy(base.parameters().get(n)));
                }
                try {
                    fineTune(be, r, f, new MoonlightCheckpoint.Loaded(base.config(), mine), data, opt, c);
                } finally {
                    if (copied) mine.asMap().values().forEach(moonlight4j.api.Tensor::close);
                }
                return c.rank();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        return 0;
    }

    /** One process's (or one rank's) fine-tuning and, on rank 0, its outputs. */
    private static void fineTune(Backend be, Request r, SftFlags f, MoonlightCheckpoint.Loaded base, SftDataset data,
                                 SftOptions opt, Collective c) throws java.io.IOException {
        Path init = r.init(), out = r.out();
        boolean lead = c == null || c.rank() == 0;
        try (SftTrainer t = new SftTrainer(be, base.config(), base.parameters(), opt, c)) {
            if (lead) {
                System.out.println(data.summary());
                System.out.println(opt.lora()
                        ? "LoRA r " + f.loraRank + ", alpha " + f.loraAlpha + ", " + t.adapters().targets().size()
                        + " weights (" + String.join(", ", t.adapters().config().targetModules()) + "); "
                        + ParamSplit.RELEASE.describe(t.adapters().parameters().asMap())
                        : "full fine-tuning; " + ParamSplit.RELEASE.describe(base.parameters().asMap()));
            }
            if (r.resume() != null) {
                Path ck = SftCheckpoint.restore(r.resume(), t, be, data);
                System.out.println("resumed from " + ck + " at step " + t.steps() + " (epoch " + t.epoch() + ", batch "
                        + t.batchInEpoch() + ")");
            }
            Path checkpoints = r.saveEvery() > 0 ? checkpointDir(out) : null;
            SftProgress.Report report = SftProgress.train(t, data, opt, f.logEvery, !lead, s -> {
                if (checkpoints != null && s.step() % r.saveEvery() == 0) SftCheckpoint.save(t, checkpoints, data);
            });
            if (!lead) return;
            if (opt.lora()) {
                t.adapters().save(out);
                System.out.println("adapter written to " + out);
                if (f.mergeLora) {
                    LoraMerge.write(init, out, out.resolve("merged"), be);
                    System.out.println("merged model written to " + out.resolve("merged"));
                }
            } else {
                MoonlightCheckpoint.save(out, base.config(), base.parameters());
                for (String file : LoraMerge.SIDE_FILES) {
                    if (Files.isRegularFile(init.resolve(file))) {
                        Files.copy(init.resolve(file), out.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                System.out.println("model written to " + out);
            }
            report.write(out);
        }
    }
}
