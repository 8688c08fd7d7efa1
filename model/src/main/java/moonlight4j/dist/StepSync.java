package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.Tensor;
import moonlight4j.optim.AdamW;
import moonlight4j.optim.GradClip;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Optimizer;

import java.util.Arrays;
import java.util.Map;

/**
 * The one hook through which data parallelism enters a training step, so the loops ({@code Trainer},
 * {@code SftTrainer}) read forward → loss → backward → reduce → clip and update, the same in one process and on N
 * ranks:
 * <pre>
 *   rows    = sync.myRows(globalRows)                     this rank's block (one process: all of them)
 *   forward, loss, backward                               on those rows
 *   reduced = sync.reduce(lossSum, maxLogit, nonFinite)   summed / maxed over ranks
 *   update  = sync.update(optimizer, params, grads, lr, clip)
 * </pre>
 * {@link #of} picks the implementation: with no collective every call is the identity and the optimizer is
 * {@link Muon} / {@link AdamW}; with one, the optimizer is ZeRO-1 (Distributed Muon, the paper's Algorithm 1, or
 * Distributed AdamW), which sums the gradients over the ranks and clips their global norm itself.
 */
public abstract sealed class StepSync {

    /** The hook for {@code comm} (null: one process). */
    public static StepSync of(Collective comm) {
        return comm == null ? new OneProcess() : new Ranks(comm);
    }

    /** The hyper-parameters every Muon run here uses: the release's defaults with {@code weightDecay}. */
    public static Muon.Options muonOptions(double weightDecay) {
        return Muon.Options.defaults().withWeightDecay(weightDecay);
    }

    /** The baseline AdamW of toy_train: betas (0.9, 0.95), eps 1e-8, decoupled {@code weightDecay}. */
    public static AdamW.Options adamwOptions(double weightDecay) {
        return new AdamW.Options(weightDecay, 0.9, 0.95, 1e-8);
    }

    /** The step's loss sum and max attention logit over all ranks, and the first non-finite gradient on any. */
    public record Reduced(double lossSum, double maxLogit, String nonFinite) {
    }

    /** What an update did: the update RMS per matrix (Muon) and the global gradient norm before clipping. */
    public record Update(Map<String, Double> updateRms, double gradNorm) {
    }

    /** The collective, or null in one process. */
    public abstract Collective collective();

    /** The optimizer of a run: {@code "muon"} or {@code "adamw"} — the one place optimizers are made for training. */
    public abstract Optimizer optimizer(Backend be, String name, double weightDecay);

    /** Before training: every rank describes the same run, and the world size divides the global batch. */
    public abstract void checkStart(int globalBatch, String runDescription);

    /** This rank's rows of the step's global rows (a contiguous block, {@link DataParallel#shard}). */
    public abstract int[] myRows(int[] globalRows);

    /** Σ over ranks of a count (tokens, targets). */
    public abstract long globalCount(long local);

    /** Reduces the step's loss sum, max attention logit and non-finite flag (see {@link Reduced}). */
    public abstract Reduced reduce(double lossSum, double maxLogit, String nonFinite);

    /** Σ over ranks of per-expert selection counts, exact (64-bit); for {@code LoadBalancer.sumOverRanks}. */
    public abstract long[] sumCounts(long[] counts);

    /**
     * Clips the gradients to the global norm {@code clip} (0: no clipping) and applies {@code optimizer} at
     * {@code lr}; returns the update RMS per matrix and the norm before clipping.
     */
    public abstract Update update(Backend be, Optimizer optimizer, Map<String, Tensor> params,
                                  Map<String, Tensor> grads, double lr, double clip);

    /** One process: nothing to share. */
    static final class OneProcess extends StepSync {

        @Override
        public Collective collective() {
            return null;
        }

        @Override
        public Optimizer optimizer(Backend be, String name, double weightDecay) {
            return name.equals("muon") ? new Muon(be, muonOptions(weightDecay)) : new AdamW(be, adamwOptions(weightDecay));
        }

        @Override
        public void checkStart(int globalBatch, String runDescription) {
        }

        @Override
        public int[] myRows(int[] globalRows) {
            return globalRows;
        }

        @Override
        public long globalCount(long local) {
            return local;
        }

        @Override
        public Reduced reduce(double lossSum, double maxLogit, String nonFinite) {
            return new Reduced(lossSum, maxLogit, nonFinite);
        }

        @Override
        public long[] sumCounts(long[] counts) {
            return counts;
        }

        @Override
        public Update update(Backend be, Optimizer optimizer, Map<String, Tensor> params, Map<String, Tensor> grads,
                             double lr, double clip) {
            double norm = GradClip.clip(be, grads, clip);
            return new Update(optimizer.step(params, grads, lr), norm);
        }
    }

    /** N data-parallel ranks over a {@link Collective}, with a ZeRO-1 optimizer. */
    static final class Ranks extends StepSync {

        private final Collective c;

        Ranks(Collective c) {
            this.c = c;
        }

        @Override
        public Collective collective() {
            return c;
        }

        @Override
        public Optimizer optimizer(Backend be, String name, double weightDecay) {
            return name.equals("muon") ? new DistributedMuon(be, muonOptions(weightDecay), c)
                    : new DistributedAdamW(be, adamwOptions(weightDecay), c);
        }

        @Override
        public void checkStart(int globalBatch, String runDescription) {
            DataParallel.checkSameConfig(c, runDescription);
            DataParallel.shard(c, globalBatch);
        }

        @Override
        public int[] myRows(int[] globalRows) {
            int[] s = DataParallel.shard(c, globalRows.length);
            return Arrays.copyOfRange(globalRows, s[0], s[1]);
        }

        @Override
        public long globalCount(long local) {
            return DataParallel.globalCount(c, local);
        }

        /**
         * The loss sum in double, added in rank order (the exact 64-bit patterns are all-gathered), the max logit,
         * and whether any rank saw a non-finite gradient, so all ranks stop together.
         */
        @Override
        public Reduced reduce(double lossSum, double maxLogit, String nonFinite) {
            long[] all = new long[3 * c.worldSize()];
            c.allGatherLongs(new long[]{Double.doubleToRawLongBits(lossSum), Double.doubleToRawLongBits(maxLogit),
                    nonFinite == null ? 0 : 1}, all);
            double sum = 0, max = Double.NEGATIVE_INFINITY;
            long bad = 0;
            for (int r = 0; r < c.worldSize(); r++) {
                sum += Double.longBitsToDouble(all[3 * r]);
                max = Math.max(max, Double.longBitsToDouble(all[3 * r + 1]));
                bad += all[3 * r + 2];
            }
            String where = nonFinite != null ? nonFinite + " on rank " + c.rank()
                    : bad > 0 ? "a gradient on another rank" : null;
            return new Reduced(sum, max, where);
        }

        @Override
        public long[] sumCounts(long[] counts) {
            long[] all = new long[counts.length * c.worldSize()];
            c.allGatherLongs(counts, all);
            long[] out = new long[counts.length];
            for (int r = 0; r < c.worldSize(); r++) {
                for (int i = 0; i < counts.length; i++) out[i] += all[r * counts.length + i];
            }
            return out;
        }

        /** ZeRO-1 clips the summed gradient itself (its norm is only known after the reduce-scatter). */
        @Override
        public Update update(Backend be, Optimizer optimizer, Map<String, Tensor> params, Map<String, Tensor> grads,
                             double lr, double clip) {
            Zero1Optimizer z = (Zero1Optimizer) optimizer;
            z.setClip(clip);
            Map<String, Double> rms = z.step(params, grads, lr);
            return new Update(rms, z.lastGradNorm());
        }
    }
}
