package moonlight4j.cpu;

import moonlight4j.api.AdamUpdate;
import moonlight4j.api.DType;
import moonlight4j.api.FusedOps;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The oracle's fused optimizer updates give the same bits as the sequences of unfused ops that define them
 * ({@link FusedOps}), in F32, BF16 and F64, over values that exercise every rounding (Gaussian gradients over six
 * decades, lerp weights on both sides of 0.5).
 */
class FusedUpdatesTest {

    private static final CpuBackend CPU = new CpuBackend(2);

    /** 10 × 14,000: the fused passes run in several {@link Workers#CHUNK}-element chunks, the last one partial. */
    private static final int ROWS = 10, COLS = 14_000;

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static Tensor random(long seed, DType dtype, double scale, boolean positive) {
        Random r = new Random(seed);
        float[] x = new float[ROWS * COLS];
        for (int i = 0; i < x.length; i++) {
            double v = r.nextGaussian() * scale * Math.pow(10, r.nextInt(6) - 3);
            x[i] = (float) (positive ? Math.abs(v) : v);
        }
        try (Tensor f = CPU.fromFloats(x, ROWS, COLS)) {
            return CPU.cast(f, dtype);
        }
    }

    private static void assertSameBits(Tensor expected, Tensor actual, String what) {
        double[] e = CPU.toDoubles(expected), a = CPU.toDoubles(actual);
        int differing = 0;
        for (int i = 0; i < e.length; i++) if (Double.doubleToRawLongBits(e[i]) != Double.doubleToRawLongBits(a[i])) differing++;
        assertThat(differing).as(what + ": elements differing from the unfused sequence").isZero();
    }

    @ParameterizedTest
    @CsvSource({"F32, true, 0.9, 0.95", "F32, false, 0.9, 0.95", "BF16, true, 0.9, 0.95", "BF16, false, 0.9, 0.999",
            "F64, false, 0.9, 0.999", "F32, true, 0.3, 0.2", "BF16, false, 0.3, 0.2"})
    void adamMatchesItsSequence(DType dtype, boolean lerpV, double beta1, double beta2) {
        for (int t = 1; t <= 3; t++) {
            AdamUpdate u = new AdamUpdate(1 - 0.01 * 0.1, beta1, beta2, lerpV,
                    lerpV ? 1.0 : 1 / Math.sqrt(1 - Math.pow(beta2, t)), 1e-8, 0.01 / (1 - Math.pow(beta1, t)));
            try (Tensor p = random(1, dtype, 1, false); Tensor g = random(2, dtype, 1e-2, false);
                 Tensor m = random(3, dtype, 1e-3, false); Tensor v = random(4, dtype, 1e-5, true);
                 Tensor p2 = CPU.copy(p); Tensor m2 = CPU.copy(m); Tensor v2 = CPU.copy(v)) {
                double expected = FusedOps.adam(CPU, p, g, m, v, u);
                double actual = CPU.adamUpdateInPlace(p2, g, m2, v2, u);
                assertSameBits(p, p2, "p");
                assertSameBits(m, m2, "m");
                assertSameBits(v, v2, "v");
                assertThat(Double.doubleToRawLongBits(actual)).as("Σd²").isEqualTo(Double.doubleToRawLongBits(expected));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F64"})
    void momentumMatchesItsSequence(DType dtype) {
        for (boolean nesterov : new boolean[]{true, false}) {
            try (Tensor buf = random(5, dtype, 1, false); Tensor g = random(6, dtype, 1, false);
                 Tensor buf2 = CPU.copy(buf); Tensor n = CPU.zeros(dtype, ROWS, COLS); Tensor n2 = CPU.zeros(dtype, ROWS, COLS)) {
                FusedOps.momentum(CPU, buf, g, 0.95, nesterov ? n : null);
                CPU.momentumInPlace(buf2, g, 0.95, nesterov ? n2 : null);
                assertSameBits(buf, buf2, "buf");
                assertSameBits(n, n2, "nesterov");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"F32, F32", "F32, BF16", "BF16, BF16", "BF16, F32", "F64, F64"})
    void scaleAxpyMatchesItsSequence(DType pType, DType uType) {
        try (Tensor p = random(7, pType, 1, false); Tensor u = random(8, uType, 1e-2, false); Tensor p2 = CPU.copy(p)) {
            FusedOps.scaleAxpy(CPU, p, 1 - 0.02 * 0.1, -0.013, u);
            CPU.scaleAxpyInPlace(p2, 1 - 0.02 * 0.1, -0.013, u);
            assertSameBits(p, p2, "p");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F64"})
    void frobeniusNormsAreEachMatrixsNorm(DType dtype) {
        try (Tensor x = random(9, dtype, 1, false); Tensor stack = CPU.reshape(x, 5, 2, COLS);
             Tensor norms = CPU.frobeniusNorms(stack)) {
            assertThat(norms.shape()).containsExactly(5, 1, 1);
            for (int b = 0; b < 5; b++) {
                try (Tensor xb = CPU.slice(stack, 0, b, b + 1); Tensor norm = CPU.frobeniusNorm(xb);
                     Tensor nb = CPU.slice(norms, 0, b, b + 1)) {
                    assertThat(CPU.toDoubles(nb)[0]).isEqualTo(CPU.item(norm));
                }
            }
        }
    }
}
