package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.Collectives;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.optim.Muon;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * {@code moonlight bench dist}: Distributed Muon optimizer steps on a preset's parameters (random init, random
 * per-rank gradients, all parameters present) for N ranks, with the figures of docs/muon.md#distributed-muon:
 * <ul>
 *   <li>optimizer-state bytes per rank vs one process (ZeRO-1: ≈ 1/N) and vs distributed AdamW (2 moments);</li>
 *   <li>bytes sent per rank per step (ring count, {@link Collective#traffic()}) vs the paper's formula: distributed
 *       AdamW moves {@code (N−1)/N·(4P reduce-scatter + 4P all-gather)} bytes for P fp32 parameters, Distributed
 *       Muon adds the bf16 DP gather {@code (N−1)/N·2·P_span} of the matrices that span partitions, a ratio
 *       {@code (4 + 2f + 4)/8 ∈ [1, 1.25]} with {@code f = P_span/P};</li>
 *   <li>median step time and the share of it spent inside collectives (for {@code local}, waiting for the slowest
 *       rank counts as communication).</li>
 * </ul>
 * A measurement, not a test.
 */
public final class DistBench {

    /** One rank's figures. */
    record Row(int n, int rank, long stateBytes, long bytesPerStep, double stepSeconds, double commShare,
               long total, long spanning, long controlBytes, long adamwStateBytes, long adamwBytesPerStep) {
    }

    private DistBench() {
    }

    /**
     * @param engine {@code local}, {@code mpi} or {@code nccl}
     * @param ranks  local, nccl: the rank counts to measure (empty: 1 and 2); mpi: ignored (mpirun -np decides)
     */
    public static void run(Backend be, String engine, List<Integer> ranks, String preset, int warmup, int reps,
                           PrintStream out) {
        CollectiveProvider provider = Collectives.get(engine);
        MoonlightConfig cfg = MoonlightConfig.preset(preset == null ? "tiny" : preset);
        // mpi: one rank per process, mpirun -np decides; local and nccl host their ranks as threads
        List<Integer> sizes = engine.equals("mpi") ? List.of(0) : ranks.isEmpty() ? List.of(1, 2) : ranks;
        long single = -1;
        double singleStep = -1;
        boolean header = false;
        for (int n : sizes) {
            List<Row> rows = provider.launch(n, Duration.ofMinutes(5), c -> measure(be, cfg, c, warmup, reps));
            Row r0 = rows.get(0);
            if (r0.rank() != 0) continue;                      // mpi: only rank 0 prints
            if (single < 0) {
                double[] stepTime = new double[1];
                single = singleProcess(be, cfg, warmup, reps, stepTime);
                singleStep = stepTime[0];
            }
            if (!header) {
                out.printf("bench dist: preset %s, %,d parameters (fp32), engine %s, backend %s, %d steps after %d warm-up%n",
                        preset == null ? "tiny" : preset, r0.total(), engine, be.name(), reps, warmup);
                out.printf("single-process Muon: state %,d B, step %.4f s (median)%n", single, singleStep);
                out.printf("%3s %4s %14s %8s %14s %14s %14s %8s %8s %10s %8s%n", "N", "rank", "Muon state B",
                        "·N/1proc", "AdamW state B", "Muon sent B", "AdamW sent B", "ratio", "formula", "step s", "comm");
                header = true;
            }
            for (Row r : rows) {
                double f = (double) r.spanning() / r.total();
                out.printf("%3d %4d %,14d %8.3f %,14d %,14d %,14d %8s %8.4f %10.4f %7.1f%%%n", r.n(), r.rank(),
                        r.stateBytes(), (double) r.stateBytes() * r.n() / single, r.adamwStateBytes(), r.bytesPerStep(),
                        r.adamwBytesPerStep(), r.n() == 1 ? "-" : String.format("%.4f",
                                (double) r.bytesPerStep() / r.adamwBytesPerStep()),
                        (4 + 2 * f + 4) / 8, r.stepSeconds(), 100 * r.commShare());
            }
            double adamwFormula = (r0.n() - 1.0) / r0.n() * 8.0 * r0.total();
            out.printf("    N=%d: distributed AdamW by the formula (N−1)/N·8P = %,.0f B; %,d B of each measured figure are"
                    + " control traffic (grad-None flags, update RMS, gradient norm); %,d of %,d parameters are in matrices spanning"
                    + " partitions (f = %.4f); paper bounds of the ratio: [1, 1.25]%n", r0.n(), adamwFormula,
                    r0.controlBytes(), r0.spanning(), r0.total(), (double) r0.spanning() / r0.total());
        }
    }

    private static Row measure(Backend be, MoonlightConfig cfg, Collective c, int warmup, int reps) {
        Map<String, Tensor> params = ModelInit.random(cfg, be, DType.F32, 1).asMap();
        Map<String, Tensor> grads = new LinkedHashMap<>();
        Random rnd = new Random(100 + c.rank());
        params.forEach((name, p) -> {
            float[] g = new float[Math.toIntExact(p.numel())];
            for (int i = 0; i < g.length; i++) g[i] = (float) (1e-3 * rnd.nextGaussian());
            grads.put(name, be.fromFloats(g, p.shape()));
        });
        FlatLayout layout = new FlatLayout(params, c.worldSize());
        Muon.Options opt = Muon.Options.defaults();
        long spanning = layout.params.stream().filter(p -> layout.spans(p) && opt.split().useMuon(p.name(), p.shape()))
                .mapToLong(FlatLayout.Param::numel).sum();
        int n = c.worldSize();
        long control = (long) (2.0 * (n - 1) / n * 4 * params.size()) * 2   // flags + RMS all-reduces
                + 8L * (n - 1);                                                // gradient-norm all-gather
        try (DistributedMuon dm = new DistributedMuon(be, opt, c)) {
            for (int i = 0; i < warmup; i++) dm.step(params, grads, 1e-3);
            double[] sec = new double[reps];
            double[] comm = new double[reps];
            long bytes = 0;
            for (int i = 0; i < reps; i++) {
                c.barrier();
                Collective.Traffic before = c.traffic();
                long t0 = System.nanoTime();
                dm.step(params, grads, 1e-3);
                sec[i] = (System.nanoTime() - t0) / 1e9;
                Collective.Traffic d = c.traffic().minus(before);
                comm[i] = d.nanos() / 1e9 / sec[i];
                bytes = d.bytes();
            }
            long[] adamw = adamwFigures(be, c, params, grads);
            return new Row(n, c.rank(), dm.stateBytes(), bytes, median(sec), median(comm),
                    layout.total, spanning, control, adamw[0], adamw[1]);
        } finally {
            params.values().forEach(Tensor::close);
            grads.values().forEach(Tensor::close);
        }
    }

    /** Distributed AdamW's state bytes and bytes sent in one step (after one warm-up step), on the same data. */
    private static long[] adamwFigures(Backend be, Collective c, Map<String, Tensor> params, Map<String, Tensor> grads) {
        try (DistributedAdamW da = new DistributedAdamW(be, moonlight4j.optim.AdamW.Options.toyTrain(), c)) {
            da.step(params, grads, 1e-3);
            Collective.Traffic before = c.traffic();
            da.step(params, grads, 1e-3);
            return new long[]{da.stateBytes(), c.traffic().minus(before).bytes()};
        }
    }

    /** Single-process Muon's state bytes; its median step time goes to {@code stepTime[0]}. */
    private static long singleProcess(Backend be, MoonlightConfig cfg, int warmup, int reps, double[] stepTime) {
        Map<String, Tensor> params = ModelInit.random(cfg, be, DType.F32, 1).asMap();
        Map<String, Tensor> grads = new LinkedHashMap<>();
        Random rnd = new Random(100);
        params.forEach((k, p) -> {
            float[] g = new float[Math.toIntExact(p.numel())];
            for (int i = 0; i < g.length; i++) g[i] = (float) (1e-3 * rnd.nextGaussian());
            grads.put(k, be.fromFloats(g, p.shape()));
        });
        try (Muon muon = new Muon(be, Muon.Options.defaults())) {
            for (int i = 0; i < warmup; i++) muon.step(params, grads, 1e-3);
            double[] sec = new double[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                muon.step(params, grads, 1e-3);
                sec[i] = (System.nanoTime() - t0) / 1e9;
            }
            stepTime[0] = median(sec);
            Map<String, Tensor> state = muon.stateDict();
            long bytes = state.entrySet().stream().filter(e -> !e.getKey().endsWith(".step"))
                    .mapToLong(e -> e.getValue().numel() * e.getValue().dtype().byteSize()).sum();
            state.values().forEach(Tensor::close);
            return bytes;
        } finally {
            params.values().forEach(Tensor::close);
            grads.values().forEach(Tensor::close);
        }
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
