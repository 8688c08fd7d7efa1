package moonlight4j.data;

import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A supervised fine-tuning set from a JSON Lines file of conversations ({@link ChatJsonl}): each rendered with the
 * chat template and masked to its assistant turns ({@link SftExample}), shuffled with a seed, split into train and
 * validation, and served in padded batches ({@link SftBatch}) — <b>padding, not packing</b>: packing several
 * conversations into one row would let later ones attend to earlier ones unless a block-diagonal mask were built.
 *
 * <p>Examples longer than {@code maxLength} (the model's context) are cut at {@code maxLength}; an example whose
 * cut leaves no label is dropped. Both are counted in {@link #summary()}.
 */
public final class SftDataset {

    private final List<SftExample> train, validation;
    private final int skippedLines, truncated, dropped;
    private final long padId;

    private SftDataset(List<SftExample> train, List<SftExample> validation, int skippedLines, int truncated,
                       int dropped, long padId) {
        this.train = train;
        this.validation = validation;
        this.skippedLines = skippedLines;
        this.truncated = truncated;
        this.dropped = dropped;
        this.padId = padId;
    }

    /**
     * @param validationFraction share of the (shuffled) conversations held out, in [0, 1); at least one is held out
     *                           when the fraction is positive and there are two or more
     * @param seed               shuffles the conversations before the split
     */
    public static SftDataset load(Path file, Tokenizer tokenizer, ChatTemplate template, int maxLength,
                                  double validationFraction, long seed, boolean skipBadLines) throws IOException {
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + validationFraction);
        }
        if (maxLength < 2) throw new IllegalArgumentException("max length must be ≥ 2, got " + maxLength);
        ChatJsonl.Read read = ChatJsonl.read(file, skipBadLines);
        List<SftExample> all = new ArrayList<>();
        int truncated = 0, dropped = 0;
        for (ChatJsonl.Conversation c : read.conversations()) {
            SftExample e = SftExample.of(c.messages(), template, tokenizer, c.where(), maxLength);
            if (e.length() > maxLength) {
                e = e.truncated(maxLength);
                truncated++;
            }
            if (e.targets() == 0) {
                dropped++;
                continue;
            }
            all.add(e);
        }
        if (all.isEmpty()) throw new IllegalArgumentException(file + ": no usable conversation");
        Collections.shuffle(all, new Random(seed));
        int nVal = validationFraction == 0 || all.size() < 2 ? 0
                : Math.max(1, (int) Math.round(all.size() * validationFraction));
        nVal = Math.min(nVal, all.size() - 1);
        List<SftExample> val = List.copyOf(all.subList(0, nVal));
        List<SftExample> tr = List.copyOf(all.subList(nVal, all.size()));
        long pad = tokenizer.eosId();
        return new SftDataset(tr, val, read.skipped(), truncated, dropped, pad);
    }

    public List<SftExample> train() {
        return train;
    }

    public List<SftExample> validation() {
        return validation;
    }

    /** The id right padding uses: the tokenizer's EOS (never learned: its labels are −100). */
    public long padId() {
        return padId;
    }

    /**
     * The training set of epoch {@code epoch} in batches of at most {@code batchSize}: reshuffled with
     * {@code Random(seed + epoch)}, the last batch possibly smaller.
     */
    public List<SftBatch> trainBatches(int batchSize, long seed, int epoch) {
        List<SftExample> order = new ArrayList<>(train);
        Collections.shuffle(order, new Random(seed + epoch));
        return batches(order, batchSize, padId);
    }

    /**
     * Rank {@code rank}'s share of {@link #trainBatches(int, long, int)} for {@code worldSize} data-parallel ranks:
     * the same shuffle and global batches of {@code batchSize}, each cut into {@code worldSize} contiguous slices of
     * (nearly) equal size, rank r taking {@code [len·r/N, len·(r+1)/N)}; a slice can be empty (0 rows) when a last
     * batch has fewer conversations than ranks. One entry per global batch.
     */
    public List<SftBatch> trainBatches(int batchSize, long seed, int epoch, int rank, int worldSize) {
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " of " + worldSize);
        List<SftExample> order = new ArrayList<>(train);
        Collections.shuffle(order, new Random(seed + epoch));
        List<SftBatch> out = new ArrayList<>();
        for (int from = 0; from < order.size(); from += batchSize) {
            List<SftExample> global = order.subList(from, Math.min(order.size(), from + batchSize));
            int len = global.size(), lo = (int) ((long) len * rank / worldSize), hi = (int) ((long) len * (rank + 1) / worldSize);
            out.add(hi > lo ? batches(global.subList(lo, hi), hi - lo, padId).get(0)
                    : new SftBatch(new long[0], new long[0], 0, 0, 0));
        }
        return out;
    }

    /** The validation set in file-independent, fixed order. */
    public List<SftBatch> validationBatches(int batchSize) {
        return batches(validation, batchSize, padId);
    }

    /** {@code examples} in consecutive batches of at most {@code batchSize}, right-padded. */
    public static List<SftBatch> batches(List<SftExample> examples, int batchSize, long padId) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be ≥ 1, got " + batchSize);
        List<SftBatch> out = new ArrayList<>();
        for (int from = 0; from < examples.size(); from += batchSize) {
            List<SftExample> part = examples.subList(from, Math.min(examples.size(), from + batchSize));
            int b = part.size(), t = 0;
            for (SftExample e : part) t = Math.max(t, e.length());
            long[] ids = new long[b * t], labels = new long[b * t];
            int targets = 0;
            for (int i = 0; i < b; i++) {
                SftExample e = part.get(i);
                for (int j = 0; j < t; j++) {
                    boolean real = j < e.length();
                    ids[i * t + j] = real ? e.inputIds()[j] : padId;
                    labels[i * t + j] = real ? e.labels()[j] : SftExample.IGNORE;
                    if (j >= 1 && labels[i * t + j] != SftExample.IGNORE) targets++;
                }
            }
            out.add(new SftBatch(ids, labels, b, t, targets));
        }
        return out;
    }

    /** One line: counts of examples, tokens, learned tokens, skipped lines, truncations. */
    public String summary() {
        long tokens = 0, targets = 0;
        for (SftExample e : train) {
            tokens += e.length();
            targets += e.targets();
        }
        return String.format("SFT data: %d train / %d validation conversations; train %,d tokens, %,d learned "
                        + "(assistant); %d bad lines skipped, %d truncated, %d dropped (no label left); padding",
                train.size(), validation.size(), tokens, targets, skippedLines, truncated, dropped);
    }

    public int skippedLines() {
        return skippedLines;
    }
}
