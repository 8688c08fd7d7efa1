package moonlight4j.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TrainReportTest {

    @Test
    void tokensToReachInterpolatesBetweenTheEvaluationsAroundTheCrossing() {
        List<double[]> curve = List.of(new double[]{100, 3.0}, new double[]{200, 2.0}, new double[]{300, 1.0},
                new double[]{400, 1.5});
        assertThat(TrainReport.tokensToReach(curve, 1.5)).isCloseTo(250, within(1e-9));   // first crossing, not 400
        assertThat(TrainReport.tokensToReach(curve, 2.0)).isCloseTo(200, within(1e-9));
        assertThat(TrainReport.tokensToReach(curve, 3.5)).isCloseTo(100, within(1e-9));   // already below at the start
        assertThat(TrainReport.tokensToReach(curve, 0.5)).isEqualTo(-1);                   // never reached
    }
}
