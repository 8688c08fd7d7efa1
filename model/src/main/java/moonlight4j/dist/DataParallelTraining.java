package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.optim.AdamW;
import moonlight4j.optim.Muon;

import java.util.Arrays;

/**
 * The data-parallel pieces of {@code moonlight4j.train.Trainer}, one call each from the loop:
 * the ZeRO-1 optimizer, this rank's rows of a global batch, and the per-step reductions (loss sum, max attention
 * logit, a non-finite flag) so every rank logs and decides the same.
 */
public final class DataParallelTraining {

    private DataParallelTraining() {
    }

    /** Distributed Muon (or Distributed AdamW for the baseline) with the trainer's hyper-parameters. */
    public static Zero1Optimizer optimizer(Backend be, String name, Muon.Options muon, AdamW.Options adamw,
                                           Collective c) {
        return name.equals("muon") ? new DistributedMuon(be, muon, c) : new DistributedAdamW(be, adamw, c);
    }

    /**
     * Checks before training, on every rank: the world size divides the global batch and every rank has the same
     * run description (config, data, seed, options).
     */
    public static void checkStart(Collective c, int globalBatch, String runDescription) {
        DataParallel.checkSameConfig(c, runDescription);
        DataParallel.shard(c, globalBatch);
    }

    /** This rank's rows of the global batch {@code rows} (a contiguous block, {@link DataParallel#shard}). */
    public static int[] myRows(Collective c, int[] rows) {
        int[] s = DataParallel.shard(c, rows.length);
        return Arrays.copyOfRange(rows, s[0], s[1]);
    }

    /** The step's values summed / maxed over ranks. */
    public record Reduced(double lossSum, double maxLogit, String nonFinite) {
    }

    /**
     * Reduces the local loss sum (Σ in double, added in rank order: exact 64-bit patterns are all-gathered) and max
     * attention logit, and whether any rank saw a non-finite gradient ({@code localNonFinite}: the first such
     * parameter here, or null) so all ranks fail together.
     */
    public static Reduced reduceStep(Collective c, double localLossSum, double localMaxLogit, String localNonFinite) {
        long[] all = new long[3 * c.worldSize()];
        c.allGatherLongs(new long[]{Double.doubleToRawLongBits(localLossSum), Double.doubleToRawLongBits(localMaxLogit),
                localNonFinite == null ? 0 : 1}, all);
        double sum = 0, max = Double.NEGATIVE_INFINITY;
        long bad = 0;
        for (int r = 0; r < c.worldSize(); r++) {
            sum += Double.longBitsToDouble(all[3 * r]);
            max = Math.max(max, Double.longBitsToDouble(all[3 * r + 1]));
            bad += all[3 * r + 2];
        }
        String where = localNonFinite != null ? localNonFinite + " on rank " + c.rank()
                : bad > 0 ? "a gradient on another rank" : null;
        return new Reduced(sum, max, where);
    }

    /** Σ over ranks of per-expert selection counts, exact (64-bit). */
    public static long[] sumCounts(Collective c, long[] counts) {
        long[] all = new long[counts.length * c.worldSize()];
        c.allGatherLongs(counts, all);
        long[] out = new long[counts.length];
        for (int r = 0; r < c.worldSize(); r++) for (int i = 0; i < counts.length; i++) out[i] += all[r * counts.length + i];
        return out;
    }
}
