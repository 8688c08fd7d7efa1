package moonlight4j.cpu;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.Random;

/**
 * Throughput of the oracle's matmul (not a unit test: a main). Usage:
 * {@code java -cp <test classpath> moonlight4j.cpu.GemmBench [threads] [reps]}. Prints GFLOP/s (2·M·K·N per
 * product) for 1024×1024·1024×1024 and 1024×4096·4096×1024 in F32, BF16 and F64, best of {@code reps} after one
 * warm-up run.
 */
public final class GemmBench {

    private GemmBench() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String only = args.length > 2 ? args[2] : "F32,BF16,F64";
        int[][] sizes = {{1024, 1024, 1024}, {1024, 4096, 1024}};
        try (CpuBackend be = new CpuBackend(threads)) {
            System.out.println("device: " + be.device());
            for (String d : only.split(",")) {
                DType dt = DType.valueOf(d);
                for (int[] s : sizes) {
                    int m = s[0], k = s[1], n = s[2];
                    Random r = new Random(1);
                    Tensor a = random(be, dt, r, m, k), b = random(be, dt, r, k, n);
                    double best = Double.MAX_VALUE;
                    for (int i = 0; i <= reps; i++) {
                        long t0 = System.nanoTime();
                        Tensor c = be.matmul(a, b, false, false);
                        double sec = (System.nanoTime() - t0) * 1e-9;
                        c.close();
                        if (i > 0) best = Math.min(best, sec);                 // run 0 is the warm-up
                    }
                    System.out.printf("%-4s %4d x %4d · %4d x %4d  threads %d  best %.3f s  %.2f GFLOP/s%n",
                            dt, m, k, k, n, threads, best, 2.0 * m * k * n / best * 1e-9);
                    Tensor bt = be.transpose(b);                                // (N, K): c = a·btᵀ
                    double bestT = Double.MAX_VALUE;
                    for (int i = 0; i <= reps; i++) {
                        long t0 = System.nanoTime();
                        be.matmul(a, bt, false, true).close();
                        if (i > 0) bestT = Math.min(bestT, (System.nanoTime() - t0) * 1e-9);
                    }
                    System.out.printf("%-4s   same with transB (a·bᵀ)          threads %d  best %.3f s  %.2f GFLOP/s%n",
                            dt, threads, bestT, 2.0 * m * k * n / bestT * 1e-9);
                }
            }
        }
    }

    private static Tensor random(CpuBackend be, DType dt, Random r, int rows, int cols) {
        float[] f = new float[rows * cols];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        return be.cast(be.fromFloats(f, rows, cols), dt);
    }
}
