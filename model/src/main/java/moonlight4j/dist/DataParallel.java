package moonlight4j.dist;

import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The data-parallel bookkeeping around Distributed Muon, each a collective every rank calls:
 * <ul>
 *   <li>{@link #checkSameConfig}: ranks started with different configs or data fail before training;</li>
 *   <li>{@link #shard}: rank r reads rows {@code [r·B/N, (r+1)·B/N)} of every global batch of B rows, so the global
 *       batch is the one a single process reads;</li>
 *   <li>{@link #globalCount}: the global count of non-ignored target tokens; each rank back-propagates
 *       {@code Σ_its tokens loss / globalCount}, so the SUM of the ranks' gradients (what {@link DistributedMuon}
 *       reduce-scatters) is the gradient of the global mean — not a mean of per-rank means;</li>
 *   <li>{@link #allReduceSum}: e.g. the per-expert token load that drives the aux-free bias update.</li>
 * </ul>
 */
public final class DataParallel {

    private DataParallel() {
    }

    /**
     * All-gathers a hash of {@code description} (the run's config, data source and seed, as text) and fails on every
     * rank when any two differ, naming the ranks whose hash differs from rank 0's.
     */
    public static void checkSameConfig(Collective c, String description) {
        long[] all = new long[c.worldSize()];
        c.allGatherLongs(new long[]{hash(description)}, all);
        List<Integer> differ = new ArrayList<>();
        for (int r = 1; r < all.length; r++) if (all[r] != all[0]) differ.add(r);
        if (!differ.isEmpty()) {
            throw new IllegalArgumentException("ranks " + differ + " were started with a different config or data than"
                    + " rank 0 (config hashes " + java.util.Arrays.toString(hexAll(all)) + "); start every rank with "
                    + "the same arguments (this rank " + c.rank() + ": " + Long.toHexString(all[c.rank()]) + ")");
        }
    }

    /**
     * The rows of a global batch of {@code globalBatch} rows that this rank reads: {@code [from, to)}.
     *
     * @throws IllegalArgumentException when the world size does not divide the global batch
     */
    public static int[] shard(Collective c, int globalBatch) {
        int n = c.worldSize();
        if (globalBatch % n != 0) {
            throw new IllegalArgumentException("the global batch of " + globalBatch + " sequences is not divisible by the"
                    + " world size " + n + "; choose a batch that is a multiple of " + n + " (or another rank count)");
        }
        int per = globalBatch / n;
        return new int[]{c.rank() * per, (c.rank() + 1) * per};
    }

    /** {@code Σ_ranks localCount}, exact (64-bit integers). */
    public static long globalCount(Collective c, long localCount) {
        long[] all = new long[c.worldSize()];
        c.allGatherLongs(new long[]{localCount}, all);
        long sum = 0;
        for (long v : all) sum = Math.addExact(sum, v);
        return sum;
    }

    /** In place: {@code values ← Σ_ranks values} (fp32, the engine's order; exact for integer counts below 2^24). */
    public static void allReduceSum(Collective c, float[] values) {
        c.allReduce(values, ReduceOp.SUM);
    }

    static long hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            long h = 0;
            for (int i = 0; i < 8; i++) h = (h << 8) | (d[i] & 0xFF);
            return h;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static String[] hexAll(long[] v) {
        String[] s = new String[v.length];
        for (int i = 0; i < v.length; i++) s[i] = Long.toHexString(v[i]);
        return s;
    }
}
