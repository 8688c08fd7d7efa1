package moonlight4j.nd4j;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link VectorUpdates#adam} against the scalar loop it replaces, {@link HostUpdates.Adam32#run}: the same bits for
 * p, m, v and Σd², on both second-moment forms, both branches of lerp, block lengths with and without a partial
 * vector at the end, and values that reach fp32's edges (zeros of both signs, subnormals, overflow of g², a negative
 * v whose square root is NaN). The whole path (blocks, tasks, threads) is covered by {@code HostKernelsTest} and the
 * contract suite's {@code fusedUpdatesEqualTheirOpSequences}, which run it whenever the module is present.
 */
class VectorUpdatesTest {

    @Test
    void theVectorLoopGivesTheScalarLoopsBits() {
        Assumptions.assumeTrue(HostKernels.VECTOR, "the JVM runs without jdk.incubator.vector or with narrow vectors");
        Random r = new Random(23);
        int cases = 0;
        for (boolean lerpV : new boolean[]{true, false}) {
            for (double beta1 : new double[]{0.9, 0.3}) {                        // 1 − β1 below and above 0.5
                for (double beta2 : new double[]{0.95, 0.2}) {
                    HostUpdates.Adam32 c = new HostUpdates.Adam32(false, lerpV, (float) (1 - 1e-4),
                            (float) (1 - beta1), (float) (1 - beta2), (float) beta2, (float) (1 - beta2),
                            (float) (1 / Math.sqrt(1 - Math.pow(beta2, 3))), 1e-8f, (float) -1e-2);
                    for (int n : new int[]{1, VectorUpdates.lanes() - 1, VectorUpdates.lanes(), 2 * VectorUpdates.lanes() + 3, 333, 2048}) {
                        float[][] a = block(r, n), b = copy(a);
                        float accA = c.run(a, 0, n, 0.25f);
                        float accB = VectorUpdates.adam(b, n, 0.25f, c);
                        String what = "lerpV " + lerpV + ", β1 " + beta1 + ", β2 " + beta2 + ", n " + n;
                        for (int k = 0; k < 3; k++) {
                            for (int i = 0; i < n; i++) {
                                assertThat(Float.floatToIntBits(b[k][i])).as(what + ", slot " + k + " [" + i + "] ("
                                        + a[k][i] + " vs " + b[k][i] + ")").isEqualTo(Float.floatToIntBits(a[k][i]));
                            }
                        }
                        assertThat(Float.floatToIntBits(accB)).as(what + ", Σd²").isEqualTo(Float.floatToIntBits(accA));
                        cases++;
                    }
                }
            }
        }
        assertThat(cases).isEqualTo(48);
    }

    /** Slots p, m, v, g and the d² scratch; a few elements of every block at fp32's edges. */
    private static float[][] block(Random r, int n) {
        float[][] s = new float[5][2048];
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_NORMAL / 3, 1e30f, -1e-30f, 3e-39f};
        for (int i = 0; i < n; i++) {
            s[0][i] = (float) r.nextGaussian() * 0.02f;
            s[1][i] = (float) r.nextGaussian() * 1e-4f;
            s[2][i] = (float) Math.abs(r.nextGaussian()) * 1e-7f;
            s[3][i] = (float) r.nextGaussian() * 1e-3f;
            if (r.nextInt(8) == 0) s[r.nextInt(4)][i] = special[r.nextInt(special.length)];
        }
        if (n > 2) s[2][n / 2] = -1e-6f;                                        // √v of a negative v: NaN
        return s;
    }

    private static float[][] copy(float[][] a) {
        float[][] b = new float[a.length][];
        for (int k = 0; k < a.length; k++) b[k] = a[k].clone();
        return b;
    }
}
