package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.DoubleBinaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The float fast paths give the bits of the general paths they shortcut: broadcasting add/sub/mul/div through
 * {@link FloatLoops#broadcast} equal {@link Elementwise#binary} (double evaluation, one rounding by {@code put}), and
 * {@link Layout#permute}'s row copies equal the element-by-element definition, the float sum of squares equals the
 * double evaluation rounded to fp32 at every step, casts between F32 and BF16 equal {@link Bf16#round} per element,
 * and index-add's float rows equal {@code put} of the double sum.
 */
class FloatPathsTest {

    private static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() {
        CPU.close();
    }

    /** Pairs of broadcast-compatible shapes: per-matrix scalars, per-row and per-column operands, rank mismatch, scalars. */
    private static final int[][][] SHAPES = {
            {{5, 7, 300}, {5, 1, 1}}, {{5, 1, 1}, {5, 7, 300}}, {{40, 33}, {40, 1}}, {{40, 33}, {33}},
            {{1, 33}, {40, 1}}, {{3, 4, 5, 6}, {4, 1, 6}}, {{7}, {}}, {{}, {7}}, {{2, 0, 3}, {2, 1, 1}}, {{6, 1}, {1, 1}}};

    private static CpuTensor random(Random r, DType dt, int[] shape) {
        float[] x = new float[Shapes.numelInt(shape)];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
        try (Tensor f = CPU.fromFloats(x, shape)) {
            return (CpuTensor) CPU.cast(f, dt);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void broadcastFloatLoopsEqualTheDoublePathBitForBit(DType dt) {
        Random r = new Random(3);
        String[] ops = {"add", "sub", "mul", "div"};
        DoubleBinaryOperator[] fs = {Double::sum, (x, y) -> x - y, (x, y) -> x * y, (x, y) -> x / y};
        for (int[][] pair : SHAPES) {
            CpuTensor a = random(r, dt, pair[0]), b = random(r, dt, pair[1]);
            int[] shape = Shapes.checkBinary("test", a, b);
            for (int o = 0; o < ops.length; o++) {
                CpuTensor expected = CpuTensor.zeros(CPU, dt, shape), actual = CpuTensor.zeros(CPU, dt, shape);
                Elementwise.binary(CPU.workers(), a, b, expected, fs[o]);
                FloatLoops.broadcast(CPU.workers(), ops[o], a, b, actual, dt == DType.BF16);
                assertThat(actual.f).as(ops[o] + " " + Shapes.str(pair[0]) + " with " + Shapes.str(pair[1]))
                        .containsExactly(expected.f);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "I64"})
    void permuteEqualsTheElementwiseDefinition(DType dt) {
        Random r = new Random(4);
        int[] shape = {3, 4, 5, 6};
        int[][] axesList = {{0, 2, 1, 3}, {2, 0, 1, 3}, {0, 1, 3, 2}, {3, 2, 1, 0}, {1, 0, 3, 2}, {0, 1, 2, 3}};
        Tensor x = dt == DType.I64 ? CPU.fromLongs(r.longs(360, -99, 99).toArray(), shape) : random(r, dt, shape);
        double[] xs = CPU.toDoubles(x);
        int[] stx = Shapes.strides(shape);
        for (int[] axes : axesList) {
            Tensor y = CPU.permute(x, axes);
            int[] so = y.shape(), sto = Shapes.strides(so);
            double[] ys = CPU.toDoubles(y);
            for (int o = 0; o < ys.length; o++) {
                int src = 0;
                for (int d = 0; d < so.length; d++) src += (o / sto[d] % so[d]) * stx[axes[d]];
                assertThat(ys[o]).as("axes " + java.util.Arrays.toString(axes) + " element " + o).isEqualTo(xs[src]);
            }
        }
    }

    @Test
    void floatSumOfSquaresEqualsTheDoubleEvaluationRoundedAtEveryStep() {
        Random r = new Random(5);
        float[] x = new float[100_003];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        double expected = 0;
        for (float v : x) expected = (float) (expected + (float) ((double) v * v));
        try (Tensor t = CPU.fromFloats(x, x.length)) {
            assertThat(Reductions.sumSquares((CpuTensor) t)).isEqualTo(expected);
            assertThat(CPU.item(CPU.sumSquares(t))).isEqualTo(expected);
        }
    }

    @Test
    void castBetweenF32AndBf16IsBf16RoundPerElement() {
        Random r = new Random(6);
        float[] x = new float[10_000];
        for (int i = 0; i < x.length; i++) x[i] = Float.intBitsToFloat(r.nextInt());     // every exponent, NaN, ±Inf
        x[0] = Float.NaN;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = Float.intBitsToFloat(0x3f808000);                                           // a tie: rounds to even
        x[3] = Float.MAX_VALUE;                                                            // rounds up to +Inf
        try (Tensor t = CPU.fromFloats(x, x.length); Tensor b = CPU.cast(t, DType.BF16); Tensor back = CPU.cast(b, DType.F32)) {
            short[] bits = CPU.toBf16Bits(b);
            float[] widened = CPU.toFloats(back);
            for (int i = 0; i < x.length; i++) {
                assertThat(bits[i]).as("element %d", i).isEqualTo(Bf16.toBits(x[i]));
                assertThat(Float.floatToRawIntBits(widened[i])).as("element %d back", i)
                        .isEqualTo(Float.floatToRawIntBits(Bf16.round(x[i])));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void indexAddInFloatEqualsPutOfTheDoubleSum(DType dt) {
        Random r = new Random(7);
        int rows = 6, c = 37, m = 40;
        CpuTensor target = random(r, dt, new int[]{rows, c}), src = random(r, dt, new int[]{m, c});
        long[] idx = r.longs(m, 0, rows).toArray();                                        // repeated rows: order matters
        CpuTensor expected = (CpuTensor) CPU.copy(target);
        for (int k = 0; k < m; k++)
            for (int j = 0; j < c; j++) {
                int o = (int) idx[k] * c + j;
                expected.put(o, expected.at(o) + src.at(k * c + j));
            }
        CPU.indexAddInPlace(target, CPU.fromLongs(idx, m), src);
        assertThat(target.f).containsExactly(expected.f);
    }

    /**
     * {@code sum} over an axis in float, rows on the workers, equals the definition: per output element the values
     * added in axis order, each partial sum rounded to fp32 ({@link Precision#compute}), the result stored once.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void sumOverAnAxisInFloatEqualsTheRoundedDoubleSum(DType dt) {
        Random r = new Random(9);
        int[][] shapes = {{300, 777}, {4, 5, 6, 7}, {1, 9000}, {9000, 1}, {2, 0, 3}, {13}};
        for (int[] shape : shapes) {
            CpuTensor x = random(r, dt, shape);
            for (int axis = 0; axis < shape.length; axis++) {
                int outer = 1, inner = 1;
                for (int d = 0; d < axis; d++) outer *= shape[d];
                for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
                float[] expected = new float[outer * inner];
                for (int o = 0; o < outer; o++) {
                    for (int i = 0; i < inner; i++) {
                        double acc = 0;
                        for (int a = 0; a < shape[axis]; a++) {
                            acc = Precision.compute(dt, acc + x.at((o * shape[axis] + a) * inner + i));
                        }
                        expected[o * inner + i] = (float) Precision.store(dt, acc);
                    }
                }
                CpuTensor actual = (CpuTensor) CPU.sum(x, axis);
                assertThat(actual.f).as("sum over axis " + axis + " of " + Shapes.str(shape)).containsExactly(expected);
            }
        }
    }
}
