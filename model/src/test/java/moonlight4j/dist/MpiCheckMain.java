package moonlight4j.dist;

import moonlight4j.api.Bf16;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.Collectives;
import moonlight4j.api.DType;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.optim.Muon;
import moonlight4j.optim.NewtonSchulz;
import moonlight4j.train.ArithmeticExperiment;
import moonlight4j.train.TrainCheckpoint;
import moonlight4j.train.TrainOptions;
import moonlight4j.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Run under {@code mpirun -np N} by {@link MpiEngineTest}: every collective of the {@code mpi} engine against values
 * each rank can compute itself, then {@link DistributedMuonTest}'s equivalence with single-process Muon, the tiny
 * model's training, and with {@code --checkpoints DIR} a sharded checkpoint and its bit-identical resume. Prints one
 * {@code FAIL …} line per mismatch and {@code mpi rank r: N checks passed} at the end; exits 1 on any failure.
 */
public final class MpiCheckMain {

    private static final Backend BE = Backends.get("cpu");
    private static final List<String> failures = new ArrayList<>();
    private static int checks;

    public static void main(String[] args) {
        boolean hang = args.length > 0 && args[0].equals("--hang-rank-1");
        boolean die = args.length > 0 && args[0].equals("--die-rank-1");
        Path checkpoints = args.length > 1 && args[0].equals("--checkpoints") ? Path.of(args[1]) : null;
        List<Integer> done = Collectives.get("mpi").launch(0, Duration.ofSeconds(hang ? 3 : die ? 60 : 120), c -> {
            if (hang && c.rank() == 1) {
                sleepForever();
            }
            if (die && c.rank() == 1) throw new IllegalStateException("rank 1 died on purpose");
            collectives(c);
            distributedMuon(c);
            modelTraining(c);
            if (checkpoints != null) checkpoint(c, checkpoints);
            return c.rank();
        });
        int rank = done.get(0);
        failures.forEach(f -> System.out.println("FAIL mpi rank " + rank + ": " + f));
        System.out.println("mpi rank " + rank + ": " + (checks - failures.size()) + "/" + checks + " checks passed");
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    private static void collectives(Collective c) {
        int n = c.worldSize(), r = c.rank();
        float[] x = {r + 0.5f, -r, 1e-3f * r};
        c.allReduce(x, ReduceOp.SUM);
        float[] expected = new float[3];
        for (int q = 0; q < n; q++) {
            expected[0] += q + 0.5f;
            expected[1] += -q;
            expected[2] += 1e-3f * q;
        }
        expect("allReduce SUM", x, expected);
        float[] mx = {r};
        c.allReduce(mx, ReduceOp.MAX);
        expect("allReduce MAX", mx, new float[]{n - 1});

        float[] send = new float[2 * n];
        for (int i = 0; i < send.length; i++) send[i] = 10 * r + i;
        float[] part = new float[2];
        c.reduceScatter(send, part, ReduceOp.SUM);
        float[] want = new float[2];
        for (int q = 0; q < n; q++) for (int i = 0; i < 2; i++) want[i] += 10 * q + 2 * r + i;
        expect("reduceScatter", part, want);

        float[] all = new float[2 * n];
        c.allGather(new float[]{r, -r}, all);
        float[] wantAll = new float[2 * n];
        for (int q = 0; q < n; q++) {
            wantAll[2 * q] = q;
            wantAll[2 * q + 1] = -q;
        }
        expect("allGather", all, wantAll);

        short[] bits = new short[n];
        c.allGatherBf16(new short[]{Bf16.toBits(r + 1)}, bits);
        float[] got = new float[n], wantBits = new float[n];
        for (int q = 0; q < n; q++) {
            got[q] = Bf16.fromBits(bits[q]);
            wantBits[q] = q + 1;
        }
        expect("allGather BF16", got, wantBits);

        long[] ids = new long[n];
        c.allGatherLongs(new long[]{1_000_000_000_000L + r}, ids);
        checks++;
        for (int q = 0; q < n; q++) if (ids[q] != 1_000_000_000_000L + q) failures.add("allGatherLongs " + Arrays.toString(ids));

        float[] b = {r == 0 ? 42f : -1f};
        c.broadcast(b, 0);
        expect("broadcast", b, new float[]{42f});
        c.barrier();
    }

    private static void distributedMuon(Collective c) {
        for (Muon.Options opt : List.of(Muon.Options.defaults(), Muon.Options.defaults().withNewtonSchulz(NewtonSchulz.fp32()))) {
            DistributedMuonTest.Result mine = DistributedMuonTest.runRank(c, opt, DType.F32);
            Map<String, float[]> single = DistributedMuonTest.singleProcess(opt, c.worldSize(), DType.F32);
            single.forEach((name, v) -> expect("DistributedMuon " + opt.newtonSchulz().dtype() + " " + name,
                    mine.params().get(name), v));
        }
    }

    /** {@link DataParallelModelTest}: the tiny MoE model trained on N processes equals one process accumulating. */
    private static void modelTraining(Collective c) {
        DataParallelModelTest.Run mine = DataParallelModelTest.train(c, c.worldSize());
        DataParallelModelTest.Run single = DataParallelModelTest.train(null, c.worldSize());
        float[] a = new float[mine.losses().length], b = new float[a.length];
        for (int k = 0; k < a.length; k++) {
            a[k] = (float) mine.losses()[k];
            b[k] = (float) single.losses()[k];
        }
        expect("model training loss curve", a, b);
        single.params().forEach((name, v) -> expect("model training " + name, mine.params().get(name), v));
    }

    /**
     * A data-parallel checkpoint across processes: every rank writes its ZeRO-1 shard into the
     * shared directory, and fresh trainers restored from it continue bit for bit.
     */
    private static void checkpoint(Collective c, Path dir) {
        MoonlightConfig cfg = ArithmeticExperiment.config().withLayers(2);
        TokenDataset data = ArithmeticExperiment.trainSet(7, 16);
        TrainOptions opt = new TrainOptions("muon", 3e-3, 0.1, 8, 6, 1, 1, 1.0, 1e-3, 11, 0);
        float[] straight = new float[2], resumed = new float[2];
        Map<String, float[]> p1 = new java.util.LinkedHashMap<>();
        try {
            try (Trainer t = new Trainer(BE, cfg, ArithmeticExperiment.init(BE, cfg, 3), data, opt, c)) {
                t.step();
                t.step();
                TrainCheckpoint.save(t, dir, data.name(), TrainCheckpoint.SaveHook.NONE);
                for (int k = 0; k < 2; k++) straight[k] = (float) t.step().loss();
                for (String n : t.parameters().names()) p1.put(n, BE.toFloats(t.parameters().get(n)));
            }
            checks++;
            if (!Files.isRegularFile(dir.resolve("step-000002").resolve(String.format(
                    "optimizer-rank-%05d-of-%05d.safetensors", c.rank(), c.worldSize())))) {
                failures.add("checkpoint: no shard of rank " + c.rank() + " in " + dir.resolve("step-000002"));
            }
            try (Trainer t = new Trainer(BE, cfg, ArithmeticExperiment.init(BE, cfg, 4), data, opt, c)) {
                TrainCheckpoint.restore(TrainCheckpoint.resolve(dir), t, BE);
                for (int k = 0; k < 2; k++) resumed[k] = (float) t.step().loss();
                expect("checkpoint resume loss curve", resumed, straight);
                for (String n : t.parameters().names()) {
                    expect("checkpoint resume " + n, BE.toFloats(t.parameters().get(n)), p1.get(n));
                }
            }
        } catch (IOException e) {
            failures.add("checkpoint: " + e);
        }
    }

    private static void expect(String what, float[] got, float[] want) {
        checks++;
        if (!Arrays.equals(got, want)) failures.add(what + ": got " + preview(got) + ", expected " + preview(want));
    }

    private static String preview(float[] v) {
        return Arrays.toString(Arrays.copyOf(v, Math.min(v.length, 4))) + (v.length > 4 ? "…" : "");
    }

    private static void sleepForever() {
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
