/**
 * Training data. Pre-training: {@link moonlight4j.data.ArithmeticCorpus} (the embedded default's synthetic sums, a
 * training and a held-out split), {@link moonlight4j.data.ByteTokens} (byte-level ids),
 * {@link moonlight4j.data.TokenDataset} (a token stream packed into fixed-length chunks as toy_train does, or a plain
 * text file) and {@link moonlight4j.data.BatchSampler} (seeded per-epoch shuffling whose whole state is (epoch,
 * position)).
 *
 * <p>Supervised fine-tuning data. Reading order: {@link moonlight4j.data.ChatJsonl} (ms-swift JSON Lines, file:line
 * errors or skipped-line counts) → {@link moonlight4j.data.SftExample} (chat template ids, labels only on assistant
 * turns) → {@link moonlight4j.data.SftDataset} (seeded shuffle, validation split, right-padded
 * {@link moonlight4j.data.SftBatch}es) → {@link moonlight4j.data.SftLoss} (shifted cross-entropy over labelled tokens).
 */
package moonlight4j.data;
