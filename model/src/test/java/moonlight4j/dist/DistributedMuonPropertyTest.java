package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Collectives;
import moonlight4j.api.Tensor;
import moonlight4j.optim.Muon;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * For random parameter sets (matrices of random shapes between vectors) and N = 1…4 ranks, two Distributed Muon
 * steps give the parameters of single-process Muon fed the rank-order gradient sum, bit-for-bit, wherever the
 * partition boundaries fall.
 */
class DistributedMuonPropertyTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void anyLayoutAnyWorldSizeEqualsOneProcess() {
        qt().withExamples(25).forAll(integers().between(1, 4), integers().between(1, 5), longs().all())
                .checkAssert((n, count, seed) -> {
                    Map<String, int[]> shapes = new LinkedHashMap<>();
                    Random rnd = new Random(seed);
                    for (int i = 0; i < count; i++) {
                        shapes.put("model.layers." + i + ".mlp.w", new int[]{1 + rnd.nextInt(12), 1 + rnd.nextInt(12)});
                        shapes.put("model.layers." + i + ".norm.weight", new int[]{1 + rnd.nextInt(9)});
                    }
                    Map<String, float[]> expected = single(shapes, n, seed);
                    List<Map<String, float[]>> got = Collectives.get("local").launch(n, Duration.ofSeconds(60), c -> {
                        Map<String, Tensor> params = init(shapes, seed);
                        try (DistributedMuon dm = new DistributedMuon(BE, Muon.Options.defaults(), c)) {
                            for (int k = 0; k < 2; k++) {
                                Map<String, Tensor> g = grads(shapes, seed, k, c.rank());
                                dm.step(params, g, 0.01);
                                g.values().forEach(Tensor::close);
                            }
                        }
                        return snapshot(params);
                    });
                    for (Map<String, float[]> rank : got) {
                        expected.forEach((name, v) -> assertThat(rank.get(name)).as(name + " N=" + n).containsExactly(v));
                    }
                });
    }

    private static Map<String, float[]> single(Map<String, int[]> shapes, int n, long seed) {
        Map<String, Tensor> params = init(shapes, seed);
        try (Muon muon = new Muon(BE, Muon.Options.defaults())) {
            for (int k = 0; k < 2; k++) {
                Map<String, Tensor> sum = grads(shapes, seed, k, 0);
                for (int r = 1; r < n; r++) {
                    Map<String, Tensor> g = grads(shapes, seed, k, r);
                    for (String name : shapes.keySet()) {
                        Tensor acc = sum.get(name);
                        sum.put(name, BE.add(acc, g.get(name)));      // ((g_0 + g_1) + g_2) …, the engine's order
                        acc.close();
                    }
                    g.values().forEach(Tensor::close);
                }
                muon.step(params, sum, 0.01);
                sum.values().forEach(Tensor::close);
            }
        }
        return snapshot(params);
    }

    private static Map<String, Tensor> init(Map<String, int[]> shapes, long seed) {
        return tensors(shapes, new Random(seed ^ 0x5DEECE66DL), 0.5);
    }

    private static Map<String, Tensor> grads(Map<String, int[]> shapes, long seed, int step, int rank) {
        return tensors(shapes, new Random(seed + 1000L * step + rank), 0.1);
    }

    private static Map<String, Tensor> tensors(Map<String, int[]> shapes, Random rnd, double scale) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        shapes.forEach((name, s) -> {
            float[] x = new float[s.length == 1 ? s[0] : s[0] * s[1]];
            for (int i = 0; i < x.length; i++) x[i] = (float) (scale * rnd.nextGaussian());
            m.put(name, BE.fromFloats(x, s));
        });
        return m;
    }

    private static Map<String, float[]> snapshot(Map<String, Tensor> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, t) -> {
            out.put(k, BE.toFloats(t));
            t.close();
        });
        return out;
    }
}
