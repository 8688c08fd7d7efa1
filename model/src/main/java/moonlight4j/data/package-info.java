/**
 * Training data: {@link moonlight4j.data.ArithmeticCorpus} (the embedded default's synthetic sums, a training and a
 * held-out split), {@link moonlight4j.data.ByteTokens} (byte-level ids), {@link moonlight4j.data.TokenDataset}
 * (a token stream packed into fixed-length chunks as toy_train does, or a plain text file) and
 * {@link moonlight4j.data.BatchSampler} (seeded per-epoch shuffling whose whole state is (epoch, position)).
 */
package moonlight4j.data;
