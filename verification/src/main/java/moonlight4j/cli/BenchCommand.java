package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.optim.NewtonSchulz;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code moonlight bench gemm|ns}: time of one GEMM {@code [M,K]·[K,N]} (2·M·K·N FLOP) or one Newton–Schulz
 * orthogonalization of an {@code R×C} matrix (5·(4m²n + 2m³) FLOP with m = min, n = max side), after warm-up, as the
 * median of several repetitions. A measurement, not a test.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure GEMM or Newton–Schulz speed (median time, GFLOP/s) on a backend.")
final class BenchCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "gemm|ns|forward|generate|dist|train|memory",
            description = "what to measure: gemm, ns, forward, generate, dist, train (one optimizer step) or memory "
                    + "(--reps Muon steps, resident memory as they go; exit code 1 if it grows)")
    String what;

    @Mixin
    BackendOption backend;

    @Option(names = "--shape", paramLabel = "MxKxN|RxC",
            description = "gemm: MxKxN (default 1024x1024x1024); ns: RxC (default 1024x4096); forward: BxT (default 4x64); generate: BxTxN (default 1x32x32); train, memory: BxT (default 16x64)")
    String shape;

    @Option(names = "--preset", paramLabel = "NAME", description = "forward, train, memory, generate, dist: model preset (tiny, small, moonlight-16b-a3b; default tiny)")
    String preset;

    @Option(names = "--dist", defaultValue = "local", description = "dist: collective engine, local, mpi or nccl (default ${DEFAULT-VALUE})")
    String dist;

    @Option(names = "--ranks", split = ",", description = "dist with local or nccl: rank counts to measure (default 1,2)")
    java.util.List<Integer> ranks = new java.util.ArrayList<>();

    @Option(names = "--reps", defaultValue = "5", description = "timed repetitions (default ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed warm-up runs (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--peak", defaultValue = "0", paramLabel = "GFLOPS",
            description = "train: the fp32 peak for MFU in GFLOP/s (default: measured by an FMA probe; never below "
                    + "the best GEMM rate the run measures)")
    double peak;

    @Option(names = "--dtype", defaultValue = "F32", description = "F32 or BF16 (default ${DEFAULT-VALUE})")
    DType dtype;

    @Override
    public Integer call() {
        if (reps < 1 || warmup < 0) throw new IllegalArgumentException("--reps must be ≥ 1 and --warmup ≥ 0");
        if (dtype != DType.F32 && dtype != DType.BF16) throw new IllegalArgumentException("--dtype must be F32 or BF16, got " + dtype);
        if (!java.util.Set.of("gemm", "ns", "forward", "generate", "dist", "train", "memory").contains(what)) {
            throw new IllegalArgumentException("bench: expected 'gemm', 'ns', 'forward', 'generate', 'dist', 'train' or "
                    + "'memory', got '" + what + "'");
        }
        if (what.equals("train")) {                      // every backend side by side unless one is named
            int[] s = parse(shape == null ? "16x64" : shape, 2, "BxT");
            if (peak < 0) throw new IllegalArgumentException("--peak must be ≥ 0 GFLOP/s, got " + peak);
            TrainBench.run(backend, preset, s[0], s[1], warmup, reps, peak);
            return 0;
        }
        Backend be = backend.resolve();
        if (what.equals("memory")) {
            int[] s = parse(shape == null ? "16x64" : shape, 2, "BxT");
            System.out.println("backend: " + be.name() + " (" + be.device() + ")");
            return moonlight4j.train.MemoryBenchmark.run(be, preset == null ? "tiny" : preset, s[0], s[1], reps,
                    System.out) ? 0 : 1;
        }
        switch (what) {
            case "gemm" -> {
                int[] s = parse(shape == null ? "1024x1024x1024" : shape, 3, "MxKxN");
                try (Tensor a = random(be, s[0], s[1]); Tensor b = random(be, s[1], s[2])) {
                    report("gemm " + s[0] + "x" + s[1] + "x" + s[2], 2.0 * s[0] * s[1] * s[2],
                            () -> be.matmul(a, b, false, false), be);
                }
            }
            case "ns" -> {
                int[] s = parse(shape == null ? "1024x4096" : shape, 2, "RxC");
                NewtonSchulz ns = NewtonSchulz.release().withDtype(dtype);
                double flop = ns.flop(s[0], s[1]);
                try (Tensor g = random(be, s[0], s[1])) {
                    report("ns " + s[0] + "x" + s[1] + " (" + ns.schedule().size() + " steps)", flop, () -> ns.apply(be, g), be);
                }
            }
            case "forward" -> {
                int[] s = parse(shape == null ? "4x64" : shape, 2, "BxT");
                ForwardBench.run(be, preset, s[0], s[1], dtype, warmup, reps);
            }
            case "generate" -> {
                int[] s = parse(shape == null ? "1x32x32" : shape, 3, "BxTxN");
                GenerateBench.run(be, preset, s[0], s[1], s[2], dtype, warmup, reps);
            }
            case "dist" -> moonlight4j.dist.DistBench.run(be, dist, ranks, preset, warmup, reps, System.out);
            default -> throw new IllegalStateException(what);
        }
        return 0;
    }

    private Tensor random(Backend be, int rows, int cols) {
        Random rnd = new Random(42);
        float[] x = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        try (Tensor f = be.fromFloats(x, rows, cols)) {
            return be.cast(f, dtype);
        }
    }

    private void report(String label, double flop, Supplier<Tensor> op, Backend be) {
        for (int i = 0; i < warmup; i++) op.get().close();
        double[] sec = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            try (Tensor r = op.get(); Tensor sum = be.sumAll(r)) {
                be.item(sum);                                   // forces completion on asynchronous backends
            }
            sec[i] = (System.nanoTime() - t0) / 1e9;
        }
        double[] sorted = sec.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        System.out.printf("%s %s on %s: median %.4f s (min %.4f, max %.4f; %d reps after %d warm-up), %.1f GFLOP/s%n",
                label, dtype, be.name(), median, sorted[0], sorted[sorted.length - 1], reps, warmup, flop / median / 1e9);
    }

    private static int[] parse(String s, int n, String form) {
        String[] p = s.toLowerCase().split("x");
        if (p.length != n) throw new IllegalArgumentException("--shape '" + s + "': expected " + form);
        int[] d = new int[n];
        for (int i = 0; i < n; i++) {
            try {
                d[i] = Integer.parseInt(p[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--shape '" + s + "': expected " + form + " with positive integers");
            }
            if (d[i] < 1) throw new IllegalArgumentException("--shape '" + s + "': dimensions must be ≥ 1");
        }
        return d;
    }
}
