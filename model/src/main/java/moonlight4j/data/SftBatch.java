package moonlight4j.data;

/**
 * A padded batch {@code (B, T)}, row-major: examples right-padded to the batch's longest with {@code padId} and label
 * {@link SftExample#IGNORE}. Right padding needs no attention mask: under the causal mask a real token never sees a
 * later pad, and pad positions carry no loss.
 *
 * @param inputIds {@code (B, T)} token ids
 * @param labels   {@code (B, T)} aligned labels (the loss shifts by one), −100 where not learned
 * @param targets  number of labels ≠ −100 after the shift, i.e. positions t ≥ 1 with a label: the mean loss's divisor
 */
public record SftBatch(long[] inputIds, long[] labels, int batch, int time, int targets) {
}
