package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Collectives;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.optim.AdamW;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** ZeRO-1 AdamW on the {@code local} engine equals torch-rule {@link AdamW} on the summed gradients, bit-for-bit. */
class DistributedAdamWTest {

    private static final Backend BE = Backends.get("cpu");

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void equalsSingleProcessAdamWAndHoldsOneNthOfTheState(int ranks) {
        AdamW.Options opt = AdamW.Options.toyTrain();
        Map<String, Tensor> params = DistributedMuonTest.initialParams(DType.F32);
        long numel = params.values().stream().mapToLong(Tensor::numel).sum();
        try (AdamW single = new AdamW(BE, opt)) {
            for (int k = 1; k <= 3; k++) {
                Map<String, Tensor> g = DistributedMuonTest.summedGrads(k, ranks, DType.F32);
                single.step(params, g, 0.01);
                g.values().forEach(Tensor::close);
            }
        }
        Map<String, float[]> expected = DistributedMuonTest.snapshot(params);
        List<Long> stateBytes = Collectives.get("local").launch(ranks, Duration.ofSeconds(60), c -> {
            Map<String, Tensor> p = DistributedMuonTest.initialParams(DType.F32);
            try (DistributedAdamW dm = new DistributedAdamW(BE, opt, c)) {
                for (int k = 1; k <= 3; k++) {
                    Map<String, Tensor> g = DistributedMuonTest.rankGrads(k, c.rank(), DType.F32);
                    dm.step(p, g, 0.01);
                    g.values().forEach(Tensor::close);
                }
                Map<String, float[]> got = DistributedMuonTest.snapshot(p);
                expected.forEach((name, v) -> assertThat(got.get(name)).as(name).containsExactly(v));
                return dm.stateBytes();
            }
        });
        // 2 fp32 moments; "unused" had a gradient from step 2 on, so every element has state; ⌈P/N⌉ per rank at most.
        assertThat(stateBytes.stream().mapToLong(Long::longValue).sum()).isEqualTo(8 * numel);
        for (long b : stateBytes) assertThat(b).isLessThanOrEqualTo(8 * ((numel + ranks - 1) / ranks));
    }
}
