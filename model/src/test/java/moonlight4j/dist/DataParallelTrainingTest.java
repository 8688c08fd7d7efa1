package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.Collectives;
import moonlight4j.api.Tensor;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Optimizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Data-parallel training semantics on a toy language model with a hand-written backward (until the real trainer is
 * wired in): embedding (AdamW) → hidden matrix H (Muon) → output matrix W (Muon) → cross-entropy with ignored
 * targets. Each rank reads its shard of the global batch of 6 rows, back-propagates its token-loss sum divided by the
 * GLOBAL non-ignored count, and Distributed Muon sums the gradients; the loss curve must match one process reading
 * all 6 rows. Rows have different numbers of ignored targets, so a mean of per-rank means would differ.
 */
class DataParallelTrainingTest {

    private static final Backend BE = Backends.get("cpu");
    private static final int V = 17, C = 8, ROWS = 6, T = 9, STEPS = 6;
    private static final long IGNORE = -100;
    private static final double LR = 0.03;

    /**
     * Measured max |Δloss| between N ranks and one process over 6 steps: 0 for N = 1 and 2, 2.38e-7 for N = 3 (one
     * fp32 ulp at a loss ≈ 2.8: the per-rank partial GEMMs dW = dlogitsᵀ·z and the rank-order gradient sum add
     * rows in another order than the single full GEMM). The tolerance, 1e-6, is 4 ulps. The wrong normalisation
     * (mean of per-rank means) measured 0.011 (N = 2) and 0.013 (N = 3), so the test tells them apart.
     */
    private static final double LOSS_TOLERANCE = 1e-6;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void lossCurveMatchesOneProcess(int ranks) {
        double[] single = train(null, false);
        List<double[]> curves = Collectives.get("local").launch(ranks, Duration.ofSeconds(60), c -> train(c, false));
        for (double[] curve : curves) {
            double measured = 0;
            for (int k = 0; k < STEPS; k++) measured = Math.max(measured, Math.abs(curve[k] - single[k]));
            System.out.printf("N=%d: max |loss − one process| over %d steps = %.3g%n", ranks, STEPS, measured);
            for (int k = 0; k < STEPS; k++) {
                assertThat(curve[k]).as("step %d, %d ranks", k, ranks).isCloseTo(single[k],
                        org.assertj.core.data.Offset.offset(ranks == 1 ? 0.0 : LOSS_TOLERANCE));
            }
        }
        if (ranks > 1) {
            double[] wrong = Collectives.get("local").launch(ranks, Duration.ofSeconds(60), c -> train(c, true)).get(0);
            double maxDiff = 0;
            for (int k = 0; k < STEPS; k++) maxDiff = Math.max(maxDiff, Math.abs(wrong[k] - single[k]));
            System.out.printf("N=%d: mean of per-rank means differs by %.3g%n", ranks, maxDiff);
            assertThat(maxDiff).as("a mean of per-rank means must be distinguishable").isGreaterThan(1e-3);
        }
    }

    /** Trains {@link #STEPS} steps; {@code c == null}: one process. Returns the global mean loss of each step. */
    private static double[] train(Collective c, boolean meanOfMeans) {
        Map<String, Tensor> params = init();
        long[][] data = data();
        int from = 0, to = ROWS;
        if (c != null) {
            DataParallel.checkSameConfig(c, "toy V=" + V + " C=" + C + " rows=" + ROWS);
            int[] s = DataParallel.shard(c, ROWS);
            from = s[0];
            to = s[1];
        }
        double[] losses = new double[STEPS];
        try (Optimizer opt = c == null ? new Muon(BE, Muon.Options.defaults())
                : new DistributedMuon(BE, Muon.Options.defaults(), c)) {
            for (int k = 0; k < STEPS; k++) {
                int n = (to - from) * (T - 1);
                long[] ids = new long[n], targets = new long[n];
                long localCount = 0;
                for (int r = from, i = 0; r < to; r++) {
                    for (int t = 0; t + 1 < T; t++, i++) {
                        ids[i] = data[r][t];
                        targets[i] = t + 1 >= T - r ? IGNORE : data[r][t + 1];   // row r: last r targets ignored
                        if (targets[i] != IGNORE) localCount++;
                    }
                }
                long count = c == null || meanOfMeans ? localCount : DataParallel.globalCount(c, localCount);
                Map<String, Tensor> grads = new LinkedHashMap<>();
                double lossPart = forwardBackward(params, ids, targets, count, grads);
                if (c == null) {
                    lossPart = (float) lossPart;                 // logged in fp32 like the all-reduced losses
                } else {
                    float[] l = {(float) lossPart};
                    c.allReduce(l, meanOfMeans ? ReduceOp.MEAN : ReduceOp.SUM);
                    lossPart = l[0];
                }
                losses[k] = lossPart;
                opt.step(params, grads, LR);
                grads.values().forEach(Tensor::close);
            }
        }
        params.values().forEach(Tensor::close);
        return losses;
    }

    /** Σ CE(non-ignored) / count; fills grads of that quantity. */
    private static double forwardBackward(Map<String, Tensor> p, long[] idArr, long[] tgtArr, long count,
                                          Map<String, Tensor> grads) {
        Tensor e = p.get("model.embed_tokens.weight"), h = p.get("model.layers.0.mlp.h.weight"),
                w = p.get("model.layers.0.mlp.out.weight");
        try (Tensor ids = BE.fromLongs(idArr, idArr.length); Tensor tg = BE.fromLongs(tgtArr, tgtArr.length);
             Tensor x = BE.embedding(e, ids);                                   // (N, C)
             Tensor z = BE.matmul(x, h, false, true);                           // (N, C) = x·Hᵀ
             Tensor logits = BE.matmul(z, w, false, true);                      // (N, V) = z·Wᵀ
             Tensor lossSum = BE.crossEntropySum(logits, tg, IGNORE);
             Tensor dLogits = BE.crossEntropyBackward(logits, tg, IGNORE, 1.0 / count);   // (N, V)
             Tensor dz = BE.matmul(dLogits, w, false, false);                   // (N, C) = dlogits·W
             Tensor dx = BE.matmul(dz, h, false, false)) {                      // (N, C) = dz·H
            grads.put("model.embed_tokens.weight", BE.embeddingBackward(dx, ids, V));       // (V, C)
            grads.put("model.layers.0.mlp.h.weight", BE.matmul(dz, x, true, false));        // (C, C) = dzᵀ·x
            grads.put("model.layers.0.mlp.out.weight", BE.matmul(dLogits, z, true, false)); // (V, C) = dlogitsᵀ·z
            return BE.item(lossSum) / count;
        }
    }

    private static Map<String, Tensor> init() {
        Random rnd = new Random(5);
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("model.embed_tokens.weight", gaussian(rnd, 0.5, V, C));
        p.put("model.layers.0.mlp.h.weight", gaussian(rnd, 0.3, C, C));
        p.put("model.layers.0.mlp.out.weight", gaussian(rnd, 0.3, V, C));
        return p;
    }

    /** 6 rows of T random tokens (row r's last r targets are ignored in {@link #train}, so rows weigh differently). */
    private static long[][] data() {
        Random rnd = new Random(9);
        long[][] d = new long[ROWS][T];
        for (int r = 0; r < ROWS; r++) for (int t = 0; t < T; t++) d[r][t] = rnd.nextInt(V);
        return d;
    }

    private static Tensor gaussian(Random rnd, double scale, int... shape) {
        float[] x = new float[shape[0] * shape[1]];
        for (int i = 0; i < x.length; i++) x[i] = (float) (scale * rnd.nextGaussian());
        return BE.fromFloats(x, shape);
    }
}
