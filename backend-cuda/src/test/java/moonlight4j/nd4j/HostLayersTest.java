package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link HostLayers#rsqrtMeanSquare} sums {@code x²} in float arithmetic for F32/BF16 ({@link HostLayers#dot} of x
 * with itself); the definition (and the oracle) rounds a double chain to fp32 at every step:
 * {@code ss = fp32(ss + fp32(v·v))}. The two must give the same
 * bits for every row, including rows whose squares span fp32's whole range (subnormal squares, overflow to
 * infinity) and bf16-exact rows.
 */
class HostLayersTest {

    /** The definition, written as the oracle writes it. */
    private static double definition(double[] x, double eps) {
        double ss = 0;
        for (double v : x) ss = (float) (ss + (float) (v * v));
        double var = (float) (ss / x.length);
        double ve = (float) (var + (float) eps);
        return (float) (1.0 / Math.sqrt(ve));
    }

    @Test
    void theFloatSumGivesTheRoundedDoubleChainsBits() {
        Random r = new Random(7);
        int rows = 0;
        for (DType dt : new DType[]{DType.F32, DType.BF16}) {
            for (int c : new int[]{1, 7, 256, 1024, 2816}) {
                for (int kind = 0; kind < 4; kind++) {
                    for (int rep = 0; rep < 25; rep++) {
                        double[] x = new double[c];
                        for (int j = 0; j < c; j++) {
                            float v = switch (kind) {
                                case 0 -> (float) r.nextGaussian();
                                case 1 -> (float) (r.nextGaussian() * Math.pow(2, r.nextInt(120) - 60));   // wide exponents
                                case 2 -> (float) (r.nextGaussian() * 1e-23);                             // squares subnormal
                                default -> (float) (r.nextGaussian() * 3e18);                             // squares overflow
                            };
                            x[j] = round(dt, v);
                        }
                        double eps = kind == 2 ? 1e-30 : 1e-6;
                        double expected = definition(x, eps), got = HostLayers.rsqrtMeanSquare(dt, x, eps);
                        assertThat(Double.doubleToRawLongBits(got)).as(dt + ", C " + c + ", kind " + kind + ": " + got
                                + " vs " + expected).isEqualTo(Double.doubleToRawLongBits(expected));
                        rows++;
                    }
                }
            }
        }
        assertThat(rows).isEqualTo(1000);
    }

    @Test
    void softmaxsFloatSumsGiveTheRoundedDoubleChainsBits() {
        // expSum (softmax's Σ e) and dot (softmax backward's Σ dy·y) against their definitions, rounded at every step
        Random r = new Random(11);
        for (DType dt : new DType[]{DType.F32, DType.BF16}) {
            for (int c : new int[]{1, 5, 128, 1000}) {
                for (int rep = 0; rep < 50; rep++) {
                    double scale = Math.pow(2, r.nextInt(40) - 20);
                    double[] x = new double[c], y = new double[c], dy = new double[c];
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < c; j++) {
                        x[j] = round(dt, (float) (r.nextGaussian() * 8));
                        y[j] = round(dt, r.nextFloat());
                        dy[j] = round(dt, (float) (r.nextGaussian() * scale));
                        m = Math.max(m, x[j]);
                    }
                    if (rep % 10 == 0) x[0] = Double.NEGATIVE_INFINITY;                      // a masked score
                    double[] e = x.clone();
                    double sum = 0;
                    for (int j = 0; j < c; j++) {
                        e[j] = (float) Math.exp((float) (e[j] - m));
                        sum = (float) (sum + e[j]);
                    }
                    double[] got = x.clone();
                    double gotSum = HostLayers.expSum(dt, got, m);
                    assertThat(Double.doubleToRawLongBits(gotSum)).as(dt + " Σe, C " + c).isEqualTo(Double.doubleToRawLongBits(sum));
                    for (int j = 0; j < c; j++) {
                        assertThat(Double.doubleToRawLongBits(got[j])).as(dt + " e_" + j).isEqualTo(Double.doubleToRawLongBits(e[j]));
                    }
                    double dot = 0;
                    for (int j = 0; j < c; j++) dot = (float) (dot + (float) (dy[j] * y[j]));
                    assertThat(Double.doubleToRawLongBits(HostLayers.dot(dt, dy, y))).as(dt + " Σ dy·y, C " + c)
                            .isEqualTo(Double.doubleToRawLongBits(dot));
                }
            }
        }
    }

    private static double round(DType dt, float v) {
        return dt == DType.BF16 ? Bf16.round(v) : v;
    }

    @Test
    void f64StaysInDouble() {
        double[] x = {1.0 / 3, 2.0 / 3, Math.PI};
        double ss = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
        assertThat(HostLayers.rsqrtMeanSquare(DType.F64, x, 1e-6)).isEqualTo(1.0 / Math.sqrt(ss / 3 + 1e-6));
    }
}
