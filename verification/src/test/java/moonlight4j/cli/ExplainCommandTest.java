package moonlight4j.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code moonlight explain} prints what Muon does, and what it prints is true: the facts below are read back from the
 * output. Bands: after 5 bf16 Newton-Schulz steps the singular values lie in roughly [0.68, 1.14]
 * ({@code NsCoefficients}); the update RMS is {@code 0.2·RMS(σ)·lr}, measured in [0.152, 0.189]·lr over 1,800 Gaussian
 * gradients by {@code MuonTest} (0.1782·lr for the default seed here).
 */
class ExplainCommandTest {

    private static final Pattern SIGMA = Pattern.compile(
            "^ {4}(normalised X|NS iteration \\d)\\s+min (\\S+)\\s+max (\\S+)\\s+max/min\\s+(\\S+)"
                    + "\\s+RMS\\(σ\\) (\\S+)$");
    private static final Pattern UPDATE =
            Pattern.compile("update RMS\\s+(\\S+) = (\\S+)·lr\\s+\\(0\\.2·RMS\\(σ\\) = (\\S+):");
    private static final Pattern ROW_RMS = Pattern.compile("^  (.+?)\\s+RMS (\\S+)\\s+‖·‖_F");

    /** rc, stdout, stderr. */
    private static String[] run(String... args) {
        return CliRun.run(args).asArray();
    }

    /** The singular-value rows of one step: [min, max, max/min, RMS(σ)] for X₀ (normalised) … X₅. */
    private static List<double[]> sigmas(String step) {
        List<double[]> out = new ArrayList<>();
        for (String line : step.split("\n")) {
            Matcher m = SIGMA.matcher(line);
            if (m.matches()) {
                out.add(new double[]{Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                        Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5))});
            }
        }
        return out;
    }

    private static double rowRms(String step, String label) {
        for (String line : step.split("\n")) {
            Matcher m = ROW_RMS.matcher(line);
            if (m.find() && m.group(1).equals(label)) return Double.parseDouble(m.group(2));
        }
        throw new AssertionError("no row '" + label + "' in\n" + step);
    }

    private static String[] steps(String out) {
        String[] parts = out.split("\nstep \\d+\n");
        return java.util.Arrays.copyOfRange(parts, 1, parts.length);
    }

    @Test
    void oneStepShowsNewtonSchulzOrthogonalisingAndTheRmsMatchingScale() {
        String[] r = run("explain", "--backend", "cpu");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        String out = r[1];
        assertThat(out).startsWith("backend: cpu").contains("Muon on one 8×16 matrix, seed 1")
                .contains("(3.4445, -4.775, 2.0315) in BF16").contains("rows ≤ cols: no transpose")
                .contains("0.2·√max(8, 16) = 0.800000; adjusted lr = lr · 0.800000 = 0.0160000");
        String step = steps(out)[0];

        // the momentum buffer starts at zero, so after one step buf = G, and the Nesterov input is (1 + μ)·G
        double g = rowRms(step, "gradient G");
        assertThat(rowRms(step, "momentum buffer")).isCloseTo(g, within(1e-5 * g));
        assertThat(rowRms(step, "Newton-Schulz input")).isCloseTo(1.95 * g, within(1e-4 * g));

        List<double[]> sv = sigmas(step);
        assertThat(sv).hasSize(6);
        double[] x0 = sv.get(0), x5 = sv.get(5);
        // dividing by the Frobenius norm puts every σ in [0, 1] (bf16 rounding: +0.4%); a Gaussian 8×16 is far from
        // orthogonal
        assertThat(x0[1]).isLessThanOrEqualTo(1.004);
        assertThat(x0[2]).as("max/min of the normalised input").isGreaterThan(3);
        // five quintic steps: σ in the coefficients' band, spread at most 2×, the smallest grown ≥ 4×
        assertThat(x5[0]).isBetween(0.6, 1.2);
        assertThat(x5[1]).isBetween(0.6, 1.2);
        assertThat(x5[2]).isLessThan(2);
        assertThat(x5[0]).isGreaterThan(4 * x0[0]);
        for (int k = 1; k < sv.size(); k++) assertThat(sv.get(k)[2]).as("max/min after step " + k).isLessThan(x0[2]);

        Matcher u = UPDATE.matcher(step);
        assertThat(u.find()).as(step).isTrue();
        double perLr = Double.parseDouble(u.group(2));
        assertThat(perLr).as("update RMS / lr").isBetween(0.15, 0.19);
        assertThat(perLr).as("= 0.2·RMS(σ) of the final iterate").isCloseTo(0.2 * x5[3], within(2e-4));
        assertThat(Double.parseDouble(u.group(3))).isCloseTo(perLr, within(1e-4));
        assertThat(Double.parseDouble(u.group(1))).isCloseTo(perLr * 0.02, within(1e-6));

        assertThat(step).contains("Muon.step equals the pieces above: weight max |Δ| 0.0, momentum buffer max |Δ| 0.0");
    }

    @Test
    void aTallMatrixIsOrthogonalisedThroughItsTranspose() {
        String[] r = run("explain", "--backend", "cpu", "--rows", "16", "--cols", "8", "--dtype", "F32");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("rows > cols: Newton-Schulz works on Xᵀ").contains("in F32")
                .contains("0.2·√max(16, 8) = 0.800000");
        List<double[]> sv = sigmas(steps(r[1])[0]);
        assertThat(sv.get(5)[0]).isBetween(0.6, 1.2);
        assertThat(sv.get(5)[1]).isBetween(0.6, 1.2);
        assertThat(steps(r[1])[0]).contains("weight max |Δ| 0.0, momentum buffer max |Δ| 0.0");
    }

    @Test
    void theMomentumBufferAccumulatesOverSteps() {
        String[] r = run("explain", "--backend", "cpu", "--steps", "2", "--no-nesterov", "--momentum", "0.5");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        String[] steps = steps(r[1]);
        assertThat(steps).hasSize(2);
        assertThat(steps[1]).contains("g' = buf").contains("weight max |Δ| 0.0, momentum buffer max |Δ| 0.0");
        // without Nesterov NS sees the buffer itself; at step 2 it is 0.5·G₁ + G₂, not G₂
        assertThat(rowRms(steps[1], "Newton-Schulz input")).isEqualTo(rowRms(steps[1], "momentum buffer"));
        assertThat(rowRms(steps[1], "momentum buffer")).isNotCloseTo(rowRms(steps[1], "gradient G"), within(1e-3));
    }

    @Test
    void badSizesAreRefusedWithTheReason() {
        String[] r = run("explain", "--backend", "cpu", "--rows", "0");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("--rows and --cols must be in 1..1024").contains("0×16");
    }
}
