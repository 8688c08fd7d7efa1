package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.Collectives;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.Grads;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.optim.Muon;
import moonlight4j.optim.Optimizer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Data-parallel training of the real Moonlight model (tiny preset, 2 layers: one dense, one MoE) with the layers'
 * backward. Global batch of 6 rows; rank r forwards/backwards its rows, scales its loss gradient by 1/GLOBAL count of
 * non-ignored targets (rows have different numbers of ignored labels), and Distributed Muon sums the gradients
 * (an expert unused on a rank is grad-None there and present globally).
 *
 * <p>Reference: one process that runs the same N shards as micro-batches and adds their gradients in rank order
 * (gradient accumulation) — N ranks must equal it bit-for-bit, losses and parameters. Against one process on the
 * whole batch at once the gradients differ only by fp32 summation order (measured ≤ 3e-8 absolute on gradients
 * ≤ 0.15), but Newton–Schulz in bf16 amplifies such round-off (its first coefficient 3.4445 per iteration stretches
 * small singular directions; a flipped bf16 rounding of the NS input changes the update visibly), so that run is only
 * reported and checked loosely.
 */
class DataParallelModelTest {

    private static final Backend BE = Backends.get("cpu");
    private static final MoonlightConfig CFG = MoonlightConfig.preset("tiny").withLayers(2);
    private static final int ROWS = 6, T = 12, STEPS = 3;
    private static final double LR = 0.01;

    record Run(double[] losses, Map<String, float[]> params) {
    }

    @Test
    void nRanksEqualOneProcessAccumulatingTheSameShards() {
        Run whole = train(null, 1);
        for (int n : new int[]{1, 2, 3}) {
            Run accumulated = train(null, n);
            List<Run> runs = Collectives.get("local").launch(n, Duration.ofSeconds(120), c -> train(c, n));
            for (Run r : runs) {
                assertThat(r.losses()).as("loss curve, %d ranks", n).containsExactly(accumulated.losses());
                accumulated.params().forEach((name, v) ->
                        assertThat(r.params().get(name)).as("%s, %d ranks", name, n).containsExactly(v));
            }
            double lossDiff = 0;
            for (int k = 0; k < STEPS; k++) lossDiff = Math.max(lossDiff, Math.abs(accumulated.losses()[k] - whole.losses()[k]));
            System.out.printf("N=%d: bit-identical to %d accumulated micro-batches; vs the whole batch at once: max |Δloss| "
                    + "%.3g over %d steps (loss %.4f → %.4f)%n", n, n, lossDiff, STEPS, whole.losses()[0], whole.losses()[STEPS - 1]);
            // Loose check of the whole-batch run: measured 0 (N=1), 1.7e-3 (N=2), 2.0e-3 (N=3) over 3 steps, while
            // the loss itself moves by 0.10 over those steps; 2e-2 is 10× the measurement.
            assertThat(lossDiff).isLessThan(2e-2);
        }
    }

    /**
     * {@code c == null}: one process running the global batch as {@code shards} micro-batches (gradients added in
     * shard order); otherwise rank {@code c.rank()} of {@code shards} ranks on its shard.
     */
    static Run train(Collective c, int shards) {
        MoonlightModel model = new MoonlightModel(BE, CFG, ModelInit.random(CFG, BE, DType.F32, 1));
        model.training(true);
        Map<String, Tensor> params = model.parameters().asMap();
        double[] losses = new double[STEPS];
        try (Optimizer opt = c == null ? new Muon(BE, Muon.Options.defaults())
                : new DistributedMuon(BE, Muon.Options.defaults(), c)) {
            for (int k = 0; k < STEPS; k++) {
                long[][] batch = batch(k);
                int per = ROWS / shards;
                Map<String, Tensor> sum = new LinkedHashMap<>();
                float loss = 0;
                long global = count(batch[1], 0, ROWS);
                for (int s = 0; s < shards; s++) {
                    if (c != null && s != c.rank()) continue;
                    if (c != null) {
                        int[] rows = DataParallel.shard(c, ROWS);
                        assertThat(rows).containsExactly(s * per, (s + 1) * per);
                        assertThat(DataParallel.globalCount(c, count(batch[1], rows[0], rows[1]))).isEqualTo(global);
                    }
                    float part = forwardBackward(model, batch, s * per, (s + 1) * per, global, sum);
                    loss = c == null ? loss + part : part;                // shard order, like the all-reduce
                }
                if (c != null) {
                    float[] l = {loss};
                    c.allReduce(l, ReduceOp.SUM);
                    loss = l[0];
                }
                losses[k] = loss;
                opt.step(params, sum, LR);
                sum.values().forEach(Tensor::close);
            }
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, t) -> out.put(k, BE.toFloats(t)));
        return new Run(losses, out);
    }

    /** One micro-batch: adds its gradients (of Σloss / global) into {@code sum}; returns Σloss / global. */
    private static float forwardBackward(MoonlightModel model, long[][] batch, int from, int to, long global,
                                         Map<String, Tensor> sum) {
        int rows = to - from;
        long[] ids = new long[rows * T], labels = new long[rows * T];
        System.arraycopy(batch[0], from * T, ids, 0, rows * T);
        System.arraycopy(batch[1], from * T, labels, 0, rows * T);
        try (Tensor idT = BE.fromLongs(ids, rows, T); Tensor labT = BE.fromLongs(labels, rows, T);
             Tensor logits = model.forward(idT); Grads grads = new Grads()) {
            CausalLmLoss loss = CausalLmLoss.of(BE, logits, labT);
            try (Tensor dLogits = loss.backward(1.0 / global)) {
                model.backward(dLogits, grads);
            }
            grads.asMap().forEach((name, g) -> {
                Tensor acc = sum.get(name);
                sum.put(name, acc == null ? BE.copy(g) : BE.add(acc, g));     // ((g_0 + g_1) + g_2), rank order
                if (acc != null) acc.close();
            });
            return (float) (loss.sum() / global);
        }
    }

    /** Non-ignored targets of rows [from, to) (labels shift by one: position t predicts label t+1). */
    private static long count(long[] labels, int from, int to) {
        long n = 0;
        for (int r = from; r < to; r++) for (int t = 1; t < T; t++) if (labels[r * T + t] != CausalLmLoss.IGNORE_INDEX) n++;
        return n;
    }

    /** Step k's global batch: ids and labels (row r has its last r labels ignored). */
    private static long[][] batch(int k) {
        Random rnd = new Random(77 + k);
        long[] ids = new long[ROWS * T], labels = new long[ROWS * T];
        for (int r = 0; r < ROWS; r++) {
            for (int t = 0; t < T; t++) {
                ids[r * T + t] = rnd.nextInt(CFG.vocabSize());
                labels[r * T + t] = t >= T - r ? CausalLmLoss.IGNORE_INDEX : ids[r * T + t];
            }
        }
        return new long[][]{ids, labels};
    }
}
