package moonlight4j.cli;

import picocli.CommandLine.Option;

/**
 * The fine-tuning flags shared by {@code moonlight sft} and {@code moonlight train --dataset FILE.jsonl}: LoRA,
 * epochs, validation split, bad-line handling.
 */
public final class SftFlags {

    @Option(names = "--epochs", defaultValue = "1", description = "JSONL fine-tuning: passes over the conversations (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--validation-fraction", defaultValue = "0.1",
            description = "JSONL fine-tuning: held-out share of the conversations (default ${DEFAULT-VALUE})")
    double validationFraction;

    @Option(names = "--max-length", paramLabel = "N",
            description = "JSONL fine-tuning: cut longer conversations (default: the model's context)")
    Integer maxLength;

    @Option(names = "--skip-bad-lines", description = "JSONL fine-tuning: skip malformed lines (counted) instead of stopping")
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

    @Option(names = "--lr-schedule", defaultValue = "cosine", paramLabel = "cosine|constant",
            description = "JSONL fine-tuning: cosine decay to 0 after the warm-up (default) or constant")
    String lrSchedule;

    @Option(names = "--log-every", defaultValue = "10", description = "JSONL fine-tuning: print the loss every N steps")
    int logEvery;
}
