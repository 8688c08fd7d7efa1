package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.data.SftDataset;
import moonlight4j.lora.LoraMerge;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.optim.ParamSplit;
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

    @Option(names = "--epochs", defaultValue = "1", description = "default ${DEFAULT-VALUE}")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "8", description = "conversations per step (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--seed", defaultValue = "42", description = "shuffle, split and LoRA init (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--validation-fraction", defaultValue = "0.1", description = "held-out share (default ${DEFAULT-VALUE})")
    double validationFraction;

    @Option(names = "--max-length", paramLabel = "N", description = "cut longer conversations (default: the model's context)")
    Integer maxLength;

    @Option(names = "--skip-bad-lines", description = "skip malformed JSONL lines (counted) instead of stopping")
    boolean skipBadLines;

    @Option(names = "--lora-rank", defaultValue = "0", paramLabel = "R", description = "LoRA rank (0: full fine-tuning)")
    int loraRank;

    @Option(names = "--lora-alpha", defaultValue = "32", paramLabel = "A", description = "LoRA alpha (default ${DEFAULT-VALUE})")
    double loraAlpha;

    @Option(names = "--lora-targets", defaultValue = "all-linear", paramLabel = "all-linear|NAMES",
            description = "modules to adapt: all-linear (default) or comma-separated names (q_proj,kv_b_proj,...)")
    String loraTargets;

    @Option(names = "--merge-lora", description = "also write base + adapters merged to OUT/merged")
    boolean mergeLora;

    @Option(names = "--log-every", defaultValue = "10", description = "print the training loss every N steps")
    int logEvery;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        if (mergeLora && loraRank == 0) throw new IllegalArgumentException("--merge-lora needs --lora-rank");
        for (String f : new String[]{TiktokenLoader.RANKS_FILE, TiktokenLoader.CONFIG_FILE}) {
            if (!Files.isRegularFile(init.resolve(f))) {
                throw new IllegalArgumentException("model directory " + init + " has no tokenizer file " + f);
            }
        }
        SftOptions opt = new SftOptions(optimizer, lr != null ? lr : loraRank > 0 ? 1e-4 : 1e-5, weightDecay, epochs,
                batchSize, seed, loraRank, loraAlpha, loraTargets);
        Backend be = backend.resolve();
        Tokenizer tok = TiktokenLoader.load(init);
        MoonlightCheckpoint.Loaded base = MoonlightCheckpoint.load(init, be);
        int context = base.config().maxPositionEmbeddings();
        SftDataset data = SftDataset.load(dataset, tok, ChatTemplate.fromModelDir(init),
                maxLength != null ? maxLength : context, validationFraction, seed, skipBadLines);
        System.out.println(data.summary());
        try (SftTrainer t = new SftTrainer(be, base.config(), base.parameters(), opt)) {
            System.out.println(opt.lora()
                    ? "LoRA r " + loraRank + ", alpha " + loraAlpha + ", " + t.adapters().targets().size()
                    + " weights (" + String.join(", ", t.adapters().config().targetModules()) + "); "
                    + ParamSplit.RELEASE.describe(t.adapters().parameters().asMap())
                    : "full fine-tuning; " + ParamSplit.RELEASE.describe(base.parameters().asMap()));
            boolean hasVal = !data.validation().isEmpty();
            if (hasVal) System.out.printf("validation loss before: %.4f%n", t.loss(data.validationBatches(batchSize)));
            t.train(data, s -> {
                if (s.step() % logEvery == 0) {
                    System.out.printf("epoch %d step %d loss %.4f (%d tokens)%n", s.epoch(), s.step(), s.loss(), s.targets());
                }
            });
            if (hasVal) System.out.printf("validation loss after:  %.4f%n", t.loss(data.validationBatches(batchSize)));
            if (opt.lora()) {
                t.adapters().save(out);
                System.out.println("adapter written to " + out);
                if (mergeLora) {
                    LoraMerge.write(init, out, out.resolve("merged"), be);
                    System.out.println("merged model written to " + out.resolve("merged"));
                }
            } else {
                MoonlightCheckpoint.save(out, base.config(), base.parameters());
                for (String f : LoraMerge.SIDE_FILES) {
                    if (Files.isRegularFile(init.resolve(f))) {
                        Files.copy(init.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                System.out.println("model written to " + out);
            }
        }
        return 0;
    }
}
