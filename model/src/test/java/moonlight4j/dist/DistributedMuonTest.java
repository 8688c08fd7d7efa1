package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.Collectives;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.optim.Muon;
import moonlight4j.optim.NewtonSchulz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Algorithm 1 on the {@code local} engine equals single-process {@link Muon} fed the rank-order sum of the ranks'
 * gradients (the sum the engine computes), bit-for-bit: every other step is element-wise or runs on the same full
 * matrix.
 */
class DistributedMuonTest {

    private static final Backend BE = Backends.get("cpu");
    private static final CollectiveProvider LOCAL = Collectives.get("local");
    private static final int STEPS = 3;
    private static final double LR = 0.02;

    /** Muon matrices (2-D and a 3-D expert stack), AdamW vectors and embeddings; 2,152 + … elements. */
    private static Map<String, int[]> shapes() {
        Map<String, int[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new int[]{20, 12});                 // AdamW (embedding)
        s.put("model.layers.0.input_layernorm.weight", new int[]{12});          // AdamW (vector)
        s.put("model.layers.0.self_attn.q_proj.weight", new int[]{16, 12});     // Muon
        s.put("model.layers.0.mlp.experts.w", new int[]{2, 6, 12});             // Muon, viewed (2, 72)
        s.put("model.layers.0.mlp.down_proj.weight", new int[]{12, 24});        // Muon, wide
        s.put("model.layers.0.mlp.gate.weight", new int[]{4, 12});              // Muon, small
        s.put("model.layers.0.mlp.unused.weight", new int[]{8, 12});            // Muon, grad None at step 1
        s.put("model.norm.weight", new int[]{12});                              // AdamW
        s.put("lm_head.weight", new int[]{20, 12});                             // AdamW
        return s;
    }

    private static Tensor random(Random rnd, int[] shape, double scale, DType dtype) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (scale * rnd.nextGaussian());
        try (Tensor t = BE.fromFloats(x, shape)) {
            return BE.cast(t, dtype);
        }
    }

    /** Rank r's gradients at step k; "unused" has no gradient at step 1 on any rank and only on rank 0 later. */
    static Map<String, Tensor> rankGrads(int step, int rank, DType dtype) {
        Random rnd = new Random(31L * step + 7L * rank + 1);
        Map<String, Tensor> g = new LinkedHashMap<>();
        shapes().forEach((name, shape) -> {
            Tensor t = random(rnd, shape, 0.1, dtype);
            boolean absent = name.contains("unused") && (step == 1 || rank != 0);
            if (absent) t.close();
            else g.put(name, t);
        });
        return g;
    }

    static Map<String, Tensor> initialParams(DType dtype) {
        Random rnd = new Random(42);
        Map<String, Tensor> p = new LinkedHashMap<>();
        shapes().forEach((name, shape) -> p.put(name, random(rnd, shape, 0.5, dtype)));
        return p;
    }

    /** {@code ((g_0 + g_1) + g_2) …} in fp32, rounded once to the gradient dtype (the engine's reduction). */
    static Map<String, Tensor> summedGrads(int step, int ranks, DType dtype) {
        Map<String, Tensor> sum = new LinkedHashMap<>();
        for (int r = 0; r < ranks; r++) {
            for (Map.Entry<String, Tensor> e : rankGrads(step, r, dtype).entrySet()) {
                try (Tensor g = e.getValue(); Tensor g32 = BE.cast(g, DType.F32)) {
                    Tensor acc = sum.get(e.getKey());
                    if (acc == null) sum.put(e.getKey(), BE.copy(g32));
                    else {
                        sum.put(e.getKey(), BE.add(acc, g32));
                        acc.close();
                    }
                }
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        sum.forEach((k, t) -> {
            out.put(k, BE.cast(t, dtype));
            t.close();
        });
        return out;
    }

    static Map<String, float[]> singleProcess(Muon.Options opt, int ranks, DType dtype) {
        return singleProcessRun(opt, ranks, dtype).params();
    }

    /** One-process {@link Muon} fed {@link #summedGrads}: the final parameters and the last step's update RMS. */
    static Result singleProcessRun(Muon.Options opt, int ranks, DType dtype) {
        Map<String, Tensor> params = initialParams(dtype);
        Map<String, Double> rms = null;
        try (Muon muon = new Muon(BE, opt)) {
            for (int k = 1; k <= STEPS; k++) {
                Map<String, Tensor> g = summedGrads(k, ranks, dtype);
                rms = muon.step(params, g, LR);
                g.values().forEach(Tensor::close);
            }
        }
        return new Result(snapshot(params), 0, rms);
    }

    static Map<String, float[]> snapshot(Map<String, Tensor> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, t) -> {
            out.put(k, BE.toFloats(t));
            t.close();
        });
        return out;
    }

    /** Runs {@link #STEPS} Distributed Muon steps on {@code ranks} local ranks; returns every rank's parameters. */
    private static List<Result> distributed(Muon.Options opt, int ranks, DType dtype) {
        return LOCAL.launch(ranks, Duration.ofSeconds(60), c -> runRank(c, opt, dtype));
    }

    /** One rank's part of {@link #distributed} on any engine. */
    static Result runRank(Collective c, Muon.Options opt, DType dtype) {
        Map<String, Tensor> params = initialParams(dtype);
        try (DistributedMuon dm = new DistributedMuon(BE, opt, c)) {
            Map<String, Double> rms = null;
            for (int k = 1; k <= STEPS; k++) {
                Map<String, Tensor> g = rankGrads(k, c.rank(), dtype);
                rms = dm.step(params, g, LR);
                g.values().forEach(Tensor::close);
            }
            return new Result(snapshot(params), dm.stateBytes(), rms);
        }
    }

    record Result(Map<String, float[]> params, long stateBytes, Map<String, Double> rms) {
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void equalsSingleProcessMuonBitForBit(int ranks) {
        Muon.Options opt = Muon.Options.defaults();
        Map<String, float[]> expected = singleProcess(opt, ranks, DType.F32);
        for (Result r : distributed(opt, ranks, DType.F32)) {
            expected.forEach((name, v) -> assertThat(r.params().get(name)).as(name).containsExactly(v));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void fp32NewtonSchulzGathersInFp32AndStillMatches(int ranks) {
        Muon.Options opt = Muon.Options.defaults().withNewtonSchulz(NewtonSchulz.fp32());
        Map<String, float[]> expected = singleProcess(opt, ranks, DType.F32);
        for (Result r : distributed(opt, ranks, DType.F32)) {
            expected.forEach((name, v) -> assertThat(r.params().get(name)).as(name).containsExactly(v));
        }
    }

    @Test
    void bf16ParametersMatchWithTheEnginesOneRoundingSum() {
        Muon.Options opt = Muon.Options.defaults();
        Map<String, float[]> expected = singleProcess(opt, 3, DType.BF16);
        for (Result r : distributed(opt, 3, DType.BF16)) {
            expected.forEach((name, v) -> assertThat(r.params().get(name)).as(name).containsExactly(v));
        }
    }

    @Test
    void optimizerStateIsPartitioned() {
        Muon.Options opt = Muon.Options.defaults();
        long single = distributed(opt, 1, DType.F32).get(0).stateBytes();
        // One process: Muon matrices 1 fp32 momentum, AdamW params 2 fp32 moments.
        long muonNumel = 16 * 12 + 2 * 6 * 12 + 12 * 24 + 4 * 12 + 8 * 12, adamNumel = 2 * 20 * 12 + 12 + 12;
        assertThat(single).isEqualTo(4 * muonNumel + 8 * adamNumel);
        for (int n : new int[]{2, 3}) {
            List<Result> rs = distributed(opt, n, DType.F32);
            assertThat(rs.stream().mapToLong(Result::stateBytes).sum()).isEqualTo(single);
            long total = muonNumel + adamNumel, partition = (total + n - 1) / n;
            // Each rank holds at most its partition of elements, at ≤ 8 bytes each.
            for (Result r : rs) assertThat(r.stateBytes()).isLessThanOrEqualTo(8 * partition);
        }
    }

    /**
     * The update RMS that every rank reports equals one process's on the same summed gradients: a Muon matrix's exactly
     * (one rank computes it from the full NS output, which is bit-identical, and the all-reduce adds zeros: only the
     * fp32 rounding of the double remains), an AdamW parameter's from per-slice fp32 sums of squares added in another
     * order (measured: at most 1.6e-7 relative, 3 and 6 ranks; bound 1e-6, ≈ 8 fp32 ulps). With 3 ranks two Muon
     * matrices span partitions, with 6 also two AdamW parameters (the embedding and lm_head). An RMS over one rank's
     * slice of a spanning matrix's update (a shard-local RMS) is close but not equal (q_proj with 6 ranks: 0.0037129
     * instead of 0.0036938) and fails the exact comparison.
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 6})
    void updateRmsIsTheSameMapOnEveryRankAndCloseToOneProcess(int ranks) {
        Muon.Options opt = Muon.Options.defaults();
        List<Result> rs = distributed(opt, ranks, DType.F32);
        Map<String, Double> single = singleProcessRun(opt, ranks, DType.F32).rms();
        for (Result r : rs) assertThat(r.rms()).isEqualTo(rs.get(0).rms());
        assertThat(rs.get(0).rms().keySet()).containsExactlyElementsOf(single.keySet());
        single.forEach((name, want) -> {
            double got = rs.get(0).rms().get(name);
            if (opt.split().useMuon(name, shapes().get(name))) {
                assertThat(got).as(name).isEqualTo((double) want.floatValue());
            } else {
                assertThat(got).as(name).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * want));
            }
        });
    }

    @Test
    void layoutSplitsMatricesAcrossPartitions() {
        Map<String, Tensor> params = initialParams(DType.F32);
        FlatLayout two = new FlatLayout(params, 2);
        assertThat(two.params.stream().filter(two::spans).map(FlatLayout.Param::name).toList()).isNotEmpty();
        FlatLayout one = new FlatLayout(params, 1);
        assertThat(one.params.stream().noneMatch(one::spans)).isTrue();
        // Pieces cover every element exactly once.
        FlatLayout three = new FlatLayout(params, 3);
        for (FlatLayout.Param p : three.params) {
            int covered = 0;
            for (int r = 0; r < 3; r++) {
                FlatLayout.Piece pc = three.piece(p, r);
                if (pc != null) covered += pc.len();
            }
            assertThat(covered).as(p.name()).isEqualTo(p.numel());
        }
        params.values().forEach(Tensor::close);
    }

    @Test
    void ranksWithDifferentParameterSetsFailAtTheFirstStep() {
        assertThatThrownBy(() -> LOCAL.launch(2, Duration.ofSeconds(30), c -> {
            Map<String, Tensor> params = initialParams(DType.F32);
            if (c.rank() == 1) params.remove("model.norm.weight").close();
            try (DistributedMuon dm = new DistributedMuon(BE, Muon.Options.defaults(), c)) {
                dm.step(params, new LinkedHashMap<>(), LR);
            }
            return null;
        })).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ranks [1] were started with a different");
    }

    @Test
    void deadRankDuringAStepStopsTheOthers() {
        assertThatThrownBy(() -> LOCAL.launch(3, Duration.ofSeconds(30), c -> {
            Map<String, Tensor> params = initialParams(DType.F32);
            try (DistributedMuon dm = new DistributedMuon(BE, Muon.Options.defaults(), c)) {
                dm.step(params, rankGrads(1, c.rank(), DType.F32), LR);
                if (c.rank() == 1) throw new IllegalStateException("rank 1 ran out of memory");
                dm.step(params, rankGrads(2, c.rank(), DType.F32), LR);
            }
            return null;
        })).isInstanceOf(IllegalStateException.class).hasMessage("rank 1 ran out of memory");
    }

    @Test
    void shardOfAnotherWorldSizeIsRefused() {
        Map<String, Tensor> saved = LOCAL.launch(2, Duration.ofSeconds(30), c -> {
            Map<String, Tensor> params = initialParams(DType.F32);
            try (DistributedMuon dm = new DistributedMuon(BE, Muon.Options.defaults(), c)) {
                dm.step(params, rankGrads(1, c.rank(), DType.F32), LR);
                return dm.stateDict();
            }
        }).get(0);
        assertThatThrownBy(() -> LOCAL.launch(3, Duration.ofSeconds(30), c -> {
            try (DistributedMuon dm = new DistributedMuon(BE, Muon.Options.defaults(), c)) {
                dm.loadStateDict(saved);
            }
            return null;
        })).hasMessageContaining("rank 0 of 2 cannot be loaded by rank 0 of 3").hasMessageContaining("same world size");
    }
}
