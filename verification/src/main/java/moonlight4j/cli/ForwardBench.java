package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.ParameterCounts;

import java.util.Arrays;
import java.util.Random;

/**
 * {@code moonlight bench forward --preset NAME --shape BxT}: a batch forward of a randomly initialised model
 * (SPEC §4.10 init, seed 1) on random token ids; median wall time over the repetitions and tokens/s = B·T / median.
 */
final class ForwardBench {

    private ForwardBench() {
    }

    static void run(Backend be, String preset, int batch, int seq, DType dtype, int warmup, int reps) {
        MoonlightConfig cfg = MoonlightConfig.preset(preset == null ? "tiny" : preset);
        MoonlightModel model = new MoonlightModel(be, cfg, ModelInit.random(cfg, be, dtype, 1));
        Random r = new Random(42);
        long[] ids = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
        Tensor input = be.fromLongs(ids, batch, seq);
        for (int i = 0; i < warmup; i++) model.forward(input).close();
        double[] sec = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            try (Tensor logits = model.forward(input); Tensor sum = be.sumAll(logits)) {
                be.item(sum);                                   // forces completion on asynchronous backends
            }
            sec[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(sec);
        double median = reps % 2 == 1 ? sec[reps / 2] : (sec[reps / 2 - 1] + sec[reps / 2]) / 2;
        ParameterCounts n = ParameterCounts.of(cfg);
        System.out.printf("forward %s (%,d params, %,d activated) batch %dx%d %s on %s: median %.4f s "
                        + "(min %.4f, max %.4f; %d reps after %d warm-up), %.1f tokens/s%n",
                preset == null ? "tiny" : preset, n.total(), n.activated(), batch, seq, dtype, be.name(), median,
                sec[0], sec[reps - 1], reps, warmup, batch * seq / median);
        System.out.printf("peak heap (JVM heap pools' peak usage since start): %.1f MiB%n", peakHeapBytes() / 1048576.0);
    }

    /** Sum of the heap memory pools' peak usage since the JVM started (off-heap ND4J buffers are not included). */
    static long peakHeapBytes() {
        long peak = 0;
        for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == java.lang.management.MemoryType.HEAP) peak += pool.getPeakUsage().getUsed();
        }
        return peak;
    }
}
