/**
 * Supervised fine-tuning data. Reading order: {@link moonlight4j.data.ChatJsonl} (ms-swift JSON Lines, file:line
 * errors or skipped-line counts) → {@link moonlight4j.data.SftExample} (chat template ids, labels only on assistant
 * turns) → {@link moonlight4j.data.SftDataset} (seeded shuffle, validation split, right-padded
 * {@link moonlight4j.data.SftBatch}es) → {@link moonlight4j.data.SftLoss} (shifted cross-entropy over labelled tokens).
 */
package moonlight4j.data;
