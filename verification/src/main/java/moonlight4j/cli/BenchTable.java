package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.optim.NewtonSchulz;
import moonlight4j.train.FmaProbe;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Benchmark (not a test) behind {@code scripts/bench-table.sh} and {@code scripts/gpu-check.sh}: GEMM and Newton–Schulz timings for the backends
 * named on the command line, printed as tab-separated rows {@code impl, case, seconds, flop} for the script to put
 * side by side with numpy and PyTorch. Each case: one warm-up run, then the median of up to 5 timed runs (a single
 * run when one takes over 8 s). Uses only the SPI, so any backend on the class path can be measured.
 *
 * <p>GEMM {@code [M,K]·[K,N]}: 2·M·K·N FLOP. Newton–Schulz (the release's {@code zeropower_via_newtonschulz5},
 * docs/muon.md#newton-schulz) on an R×C matrix with m = min, n = max side: per step {@code A = X·Xᵀ} (2m²n),
 * {@code (c·A)·A} (2m³), {@code B·X} (2m²n), so 5 steps are 5·(4m²n + 2m³) FLOP (96.6 GFLOP for 1024×4096).
 *
 * <p>First, on as many threads as {@code -Dmoonlight.cpu.threads} names (default: every processor), the
 * {@link FmaProbe} measures a lower bound of this machine's fp32 peak, printed as the row
 * {@code peak, fma probe, 1, flop per second}: the script takes the larger of it and the best GEMM as the peak the
 * percentages are of, so the table is judged against the hardware it ran on.
 */
public final class BenchTable {

    private BenchTable() {
    }

    public static void main(String[] args) {
        String[] names = args.length == 0 ? new String[]{"cpu", "nd4j"} : args;
        int threads = Integer.getInteger("moonlight.cpu.threads", Runtime.getRuntime().availableProcessors());
        double probe = FmaProbe.gflops(threads);
        System.out.printf("peak\tfma probe\t1\t%.6e%n", probe * 1e9);
        System.err.printf("  fma probe on %d threads: %.1f GFLOP/s%n", threads, probe);
        for (String name : names) {
            Backend be = Backends.get(name);
            System.err.println("bench: " + name + " on " + be.device());
            gemm(be, name, 1024, 1024, 1024, DType.F32);
            gemm(be, name, 2048, 2048, 2048, DType.F32);
            gemm(be, name, 1024, 4096, 1024, DType.F32);
            gemm(be, name, 1024, 1024, 1024, DType.BF16);
            ns(be, name, 1024, 4096, DType.F32);
            ns(be, name, 1024, 4096, DType.BF16);
        }
    }

    private static void gemm(Backend be, String name, int m, int k, int n, DType dt) {
        try (Tensor a = random(be, m, k, dt, 1); Tensor b = random(be, k, n, dt, 2)) {
            time(name, "gemm " + m + "x" + k + "x" + n + " " + dt, 2.0 * m * k * n, () -> be.matmul(a, b, false, false));
        }
    }

    private static void ns(Backend be, String name, int rows, int cols, DType dt) {
        double mm = Math.min(rows, cols), nn = Math.max(rows, cols);
        try (Tensor g = random(be, rows, cols, DType.F32, 3)) {
            time(name, "ns5 " + rows + "x" + cols + " " + dt, 5 * (4 * mm * mm * nn + 2 * mm * mm * mm),
                    () -> NewtonSchulz.release().withDtype(dt).apply(be, g));   // the optimizer's own NS
        }
    }

    /** Median seconds of the timed runs, printed as one row; each result is closed at once. */
    private static void time(String impl, String what, double flop, Supplier<Tensor> run) {
        run.get().close();                                            // warm-up
        double[] t = new double[5];
        int n = 0;
        while (n < t.length) {
            long t0 = System.nanoTime();
            run.get().close();
            t[n++] = (System.nanoTime() - t0) / 1e9;
            if (t[0] > 8) break;
        }
        double[] s = Arrays.copyOf(t, n);
        Arrays.sort(s);
        double med = s[n / 2];
        System.out.printf("%s\t%s\t%.6f\t%.6e%n", impl, what, med, flop);
        System.err.printf("  %-6s %-28s %8.3f s  %7.1f GFLOP/s  (%d runs)%n", impl, what, med, flop / med / 1e9, n);
    }

    private static Tensor random(Backend be, int rows, int cols, DType dt, long seed) {
        Random r = new Random(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (Tensor f = be.fromFloats(x, rows, cols)) {
            return be.cast(f, dt);
        }
    }
}
