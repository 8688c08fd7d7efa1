package moonlight4j.data;

import java.util.SplittableRandom;

/**
 * Batches of chunk indices, shuffled once per epoch with a permutation derived from (seed, epoch) only, so the whole
 * sampling state is two numbers — {@link #epoch()} and {@link #position()} — that a checkpoint stores and
 * {@link #seek} restores exactly. Rows that do not fill a last batch of an epoch are skipped (drop_last).
 */
public final class BatchSampler {

    private final int size, batch;
    private final long seed;
    private int epoch, position;
    private int[] order;

    public BatchSampler(int datasetSize, int batch, long seed) {
        if (batch < 1) throw new IllegalArgumentException("batch size must be ≥ 1, got " + batch);
        if (batch > datasetSize) {
            throw new IllegalArgumentException("batch size " + batch + " is larger than the dataset (" + datasetSize
                    + " chunks)");
        }
        this.size = datasetSize;
        this.batch = batch;
        this.seed = seed;
        seek(0, 0);
    }

    /** Restores the state (epoch, position within its permutation). */
    public void seek(int epoch, int position) {
        this.epoch = epoch;
        this.position = position;
        this.order = permutation(epoch);
    }

    private int[] permutation(int ep) {
        int[] p = new int[size];
        for (int i = 0; i < size; i++) p[i] = i;
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + ep);
        for (int i = size - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** The next batch's chunk indices. */
    public int[] next() {
        if (position + batch > size) seek(epoch + 1, 0);
        int[] b = new int[batch];
        System.arraycopy(order, position, b, 0, batch);
        position += batch;
        return b;
    }

    /** Chunks in the dataset. */
    public int size() {
        return size;
    }

    /** Chunks per batch. */
    public int batch() {
        return batch;
    }

    public int epoch() {
        return epoch;
    }

    public int position() {
        return position;
    }
}
