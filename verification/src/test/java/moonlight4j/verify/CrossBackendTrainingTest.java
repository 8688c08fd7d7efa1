package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.train.ArithmeticExperiment;
import moonlight4j.train.TrainOptions;
import moonlight4j.train.Trainer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ./moonlight train --backend nd4j} follows the same loss curve as {@code cpu} for its first steps: the tiny
 * preset (byte vocabulary) from the same seeded weights and data order, trained a few steps on each backend.
 */
class CrossBackendTrainingTest {

    private static final int STEPS = 6;

    private static List<Double> losses(Backend be, String optimizer) {
        MoonlightConfig cfg = ArithmeticExperiment.config();
        TokenDataset data = ArithmeticExperiment.trainSet(1234, 16);
        // the CLI's defaults (lr 5e-3, wd 0.1, bias update 1e-3, no clipping) at batch 4 × 16 tokens; warm-up 1 step
        TrainOptions opt = new TrainOptions(optimizer, 5e-3, 0.1, STEPS, 4, 1, 1, 0, 1e-3, 1234, 0);
        List<Double> l = new ArrayList<>();
        try (Trainer t = new Trainer(be, cfg, ArithmeticExperiment.init(be, cfg, 1234), data, opt)) {
            for (int i = 0; i < STEPS; i++) l.add(t.step().loss());
        }
        return l;
    }

    /*
     * Error model. The backends agree on every op to fp32 rounding, but not bit for bit: sgemm (nd4j) and the oracle's
     * loops sum in different orders, so the initial logits already differ (measured: 31200 of 32896 logits, max
     * 6.0e-7). The step loss is an fp32 sum over 4 × 15 = 60 targets (≈ 377 at init, ulp 3.05e-5), so it resolves
     * ≈ 5e-7 per target.
     *  - AdamW's update is elementwise and normalised by √v: the weight differences stay at fp32 rounding. Measured
     *    max |Δloss| over 6 steps: 0 (below the loss's resolution). Bound 5e-5 = 100 resolution steps, left for
     *    another BLAS kernel (e.g. OPENBLAS_CORETYPE) without hiding a real divergence (a wrong op moves it ≥ 1e-2).
     *  - Muon's Newton–Schulz runs in bf16 (docs/muon.md#bf16-newton-schulz-bits): an fp32 difference that flips one bf16 rounding becomes a
     *    2^-8 relative difference in that entry of the update, so the curves part after the first update. Measured
     *    max |Δloss| over 6 steps: 6.19e-4 (step 4; losses ≈ 4.98). Bound 5e-3 ≈ 8× the measurement.
     */
    @Test
    void muonLossCurveMatches() {
        assertLossCurvesAgree("muon", 5e-3);
    }

    @Test
    void adamwLossCurveMatches() {
        assertLossCurvesAgree("adamw", 5e-5);
    }

    private static void assertLossCurvesAgree(String optimizer, double bound) {
        List<Double> cpu = losses(Backends.get("cpu"), optimizer);
        List<Double> nd4j = losses(Backends.get("nd4j"), optimizer);
        double worst = 0;
        for (int i = 0; i < STEPS; i++) worst = Math.max(worst, Math.abs(cpu.get(i) - nd4j.get(i)));
        System.out.printf("%s cpu  %s%n%s nd4j %s%n%s max |Δloss| %.3e%n", optimizer, cpu, optimizer, nd4j,
                optimizer, worst);
        assertThat(cpu.get(STEPS - 1)).as("%s trains at all", optimizer).isLessThan(cpu.get(0) - 1.0);
        for (int i = 0; i < STEPS; i++) {
            assertThat(nd4j.get(i)).as("%s loss at step %d, nd4j vs cpu", optimizer, i + 1)
                    .isCloseTo(cpu.get(i), org.assertj.core.api.Assertions.within(bound));
        }
    }
}
