package moonlight4j.train;

import moonlight4j.api.Tensor;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import org.junit.jupiter.api.Test;

import static moonlight4j.train.TrainTestSupport.BE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** docs/model.md#load-balancing: b_i += u·(sign(mean c − c_i) − mean_j sign(mean c − c_j)), counted over the step's whole batch. */
class LoadBalancerTest {

    @Test
    void overloadedExpertsGoDownUnderloadedUpAndTheBiasSumIsKept() {
        MoonlightConfig cfg = TrainTestSupport.smallConfig();
        Parameters p = ArithmeticExperiment.init(BE, cfg, 3);
        MoonlightModel m = new MoonlightModel(BE, cfg, p);
        LoadBalancer lb = new LoadBalancer(BE, m, 1e-3);
        long[] ids = moonlight4j.data.ByteTokens.encode("12+34=46, 5+6=11, 7+8=15, ");
        try (Tensor t = BE.fromLongs(ids, 1, ids.length)) {
            m.forward(t);
            lb.count();
            m.forward(t);                        // a second micro-batch: counts add up
            lb.count();
        }
        String bias = "model.layers.1.mlp.gate.e_score_correction_bias";
        float[] before = BE.toFloats(p.get(bias));
        LoadBalancer.Stats s = lb.update();
        float[] after = BE.toFloats(p.get(bias));
        long[] c = s.load().get(1);
        long total = 0;
        for (long x : c) total += x;
        assertThat(total).isEqualTo(2L * ids.length * cfg.numExpertsPerTok());
        double mean = (double) total / c.length, sumSigns = 0;
        for (long x : c) sumSigns += Math.signum(mean - x);
        double sumBefore = 0, sumAfter = 0;
        for (int i = 0; i < c.length; i++) {
            double want = 1e-3 * (Math.signum(mean - c[i]) - sumSigns / c.length);
            assertThat((double) after[i] - before[i]).as("expert %d (load %d, mean %.2f)", i, c[i], mean)
                    .isCloseTo(want, within(1e-9));
            sumBefore += before[i];
            sumAfter += after[i];
        }
        assertThat(sumAfter).isCloseTo(sumBefore, within(1e-8));
        double maxViolation = 0;
        for (long x : c) maxViolation = Math.max(maxViolation, Math.abs(x - mean) / mean);
        assertThat(s.maxViolation()).isGreaterThanOrEqualTo(maxViolation);
    }
}
