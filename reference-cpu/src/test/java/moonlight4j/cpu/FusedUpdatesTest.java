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
        for (int i = 0; i < e.length; i++) if (bits(e[i]) != bits(a[i])) differing++;
        assertThat(differing).as(what + ": elements differing from the unfused sequence").isZero();
    }

    /**
     * The raw bits, except that every NaN counts as one: Java leaves open which NaN an operation on NaNs returns
     * (on x86 the first operand's, and the JIT may swap the operands of a sum), so only NaN-ness is the contract.
     */
    private static long bits(double x) {
        return Double.doubleToLongBits(x);
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

    /** Zeros, infinities, NaNs, the largest and the smallest floats in p, g, m and v: the fused pass keeps the sequence's bits. */
    @ParameterizedTest
    @CsvSource({"F32, true", "F32, false", "BF16, true", "BF16, false"})
    void adamMatchesItsSequenceOnSpecialValues(DType dtype, boolean lerpV) {
        float[] special = {0f, -0f, 1f, -1f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, Float.MIN_NORMAL,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e-30f, 3e-8f, 65504f};
        int n = special.length;
        float[][] x = new float[4][n * n * n];
        for (int i = 0; i < n * n * n; i++) {
            x[0][i] = special[i % n];
            x[1][i] = special[i / n % n];
            x[2][i] = special[i / (n * n)];
            x[3][i] = Math.abs(special[(i * 7 + 3) % n]);
        }
        AdamUpdate u = new AdamUpdate(1 - 0.01 * 0.1, 0.9, 0.95, lerpV, lerpV ? 1.0 : 1 / Math.sqrt(1 - 0.95), 1e-8, 0.01 / 0.1);
        try (Tensor p = cast(x[0], dtype); Tensor g = cast(x[1], dtype); Tensor m = cast(x[2], dtype);
             Tensor v = cast(x[3], dtype); Tensor p2 = CPU.copy(p); Tensor m2 = CPU.copy(m); Tensor v2 = CPU.copy(v)) {
            double expected = FusedOps.adam(CPU, p, g, m, v, u);
            double actual = CPU.adamUpdateInPlace(p2, g, m2, v2, u);
            assertSameBits(p, p2, "p");
            assertSameBits(m, m2, "m");
            assertSameBits(v, v2, "v");
            assertThat(bits(actual)).as("Σd²").isEqualTo(bits(expected));
        }
    }

    /** An empty parameter: nothing to update, Σd² = 0, as the sequence gives. */
    @ParameterizedTest
    @CsvSource({"F32, true", "F32, false", "BF16, true", "F64, false"})
    void adamOnAnEmptyTensorMatchesItsSequence(DType dtype, boolean lerpV) {
        AdamUpdate u = new AdamUpdate(0.999, 0.9, 0.95, lerpV, 1.0, 1e-8, 0.01);
        try (Tensor p = cast(new float[0], dtype); Tensor g = cast(new float[0], dtype);
             Tensor m = cast(new float[0], dtype); Tensor v = cast(new float[0], dtype)) {
            double expected = FusedOps.adam(CPU, CPU.copy(p), g, CPU.copy(m), CPU.copy(v), u);
            assertThat(bits(CPU.adamUpdateInPlace(p, g, m, v, u))).isEqualTo(bits(expected));
        }
    }

    private static Tensor cast(float[] x, DType dtype) {
        try (Tensor f = CPU.fromFloats(x, x.length)) {
            return CPU.cast(f, dtype);
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
