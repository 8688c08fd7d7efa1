package moonlight4j.train;

/**
 * A lower bound on the fp32 peak of this CPU: every processor runs chains of {@code Math.fma} over an L1-resident
 * array (16 dependent FMAs per element, independent across elements, so the JIT can vectorise across elements and
 * the core can overlap the chains); 2 FLOP per FMA. It reaches the peak only if the JIT emits full-width vector
 * FMAs, so callers take the larger of this and the best GEMM rate they measure.
 */
public final class FmaProbe {

    private static final int LENGTH = 2048;          // 8 KiB of floats: stays in L1
    private static final int FMAS = 16;

    private FmaProbe() {
    }

    /** GFLOP/s of {@code threads} threads running the probe, best of a few rounds of about 50 ms. */
    public static double gflops(int threads) {
        double best = 0;
        for (int round = 0; round < 6; round++) {
            int reps = 4000;
            Thread[] ts = new Thread[threads];
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                ts[t] = new Thread(() -> sink(run(reps)), "fma-probe");
                ts[t].start();
            }
            for (Thread t : ts) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("FMA probe interrupted", e);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, threads * 2.0 * FMAS * LENGTH * reps / seconds / 1e9);
        }
        return best;
    }

    private static volatile float sinkValue;

    private static void sink(float v) {
        sinkValue = v;
    }

    /** The chains: v ← v·½ + ½ converges to 1, so no value overflows or goes subnormal. */
    private static float run(int reps) {
        float[] y = new float[LENGTH];
        java.util.Arrays.fill(y, 0.3f);
        float a = 0.5f, b = 0.5f;
        for (int r = 0; r < reps; r++) {
            for (int j = 0; j < LENGTH; j++) {
                float v = y[j];
                v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b);
                v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b);
                v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b);
                v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b); v = Math.fma(v, a, b);
                y[j] = v;
            }
        }
        return y[0];
    }
}
