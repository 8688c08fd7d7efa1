package moonlight4j.cpu;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ops that split work over the {@link Workers} (element chunks, row blocks, GEMM tiles) give the same bits on one
 * thread and on three, on tensors of several {@link Workers#CHUNK}s.
 */
class ThreadCountTest {

    private static Tensor random(Backend be, DType dt, long seed, int rows, int cols) {
        Random r = new Random(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(5) - 2));
        try (Tensor f = be.fromFloats(x, rows, cols)) {
            return be.cast(f, dt);
        }
    }

    /** Positions 7, 8, … per sequence, a different start per batch row. */
    private static Tensor positions(Backend be, int batch, int seq) {
        long[] p = new long[batch * seq];
        for (int i = 0; i < p.length; i++) p[i] = 7 + i % seq + 3L * (i / seq);
        return be.fromLongs(p, batch, seq);
    }

    /** One target per row, every seventh row ignored (−100). */
    private static Tensor targets(Backend be, int rows, int vocab) {
        long[] t = new long[rows];
        for (int i = 0; i < rows; i++) t[i] = i % 7 == 3 ? -100 : (i * 131L) % vocab;
        return be.fromLongs(t, rows);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F64"})
    void oneAndThreeThreadsGiveTheSameBits(DType dt) {
        int rows = 300, cols = 777;                                  // 233,100 elements: 57 chunks, the last partial
        java.util.Map<String, BiFunction<Backend, Tensor[], Tensor>> ops = new java.util.LinkedHashMap<>();
        ops.put("add", (be, t) -> be.add(t[0], t[1]));
        ops.put("div broadcast", (be, t) -> be.div(t[0], be.addScalar(be.sumSquares(t[1]), 1.0)));
        ops.put("mulScalar", (be, t) -> be.mulScalar(t[0], -4.775));
        ops.put("mul by a per-row weight", (be, t) -> be.mul(t[0], be.slice(t[1], 1, 0, 1)));
        ops.put("sub a per-column row", (be, t) -> be.sub(be.reshape(t[0], 3, 100, cols), be.slice(t[1], 0, 0, 1)));
        ops.put("sum over the last axis", (be, t) -> be.sum(t[0], -1));
        ops.put("sum over a middle axis", (be, t) -> be.sum(be.reshape(t[0], 3, 100, cols), 1));
        ops.put("silu", (be, t) -> be.silu(t[0]));
        ops.put("siluBackward", (be, t) -> be.siluBackward(t[0], t[1]));
        ops.put("softmax", (be, t) -> be.softmax(t[0]));
        ops.put("softmaxBackward", (be, t) -> be.softmaxBackward(be.softmax(t[0]), t[1]));
        ops.put("rmsNorm", (be, t) -> be.rmsNorm(t[0], be.reshape(be.slice(t[1], 0, 0, 1), cols), 1e-6));
        ops.put("rmsNormBackward dx", (be, t) -> be.rmsNormBackward(t[0], be.reshape(be.slice(t[1], 0, 0, 1), cols), 1e-6,
                t[1]).dx());
        ops.put("rmsNormBackward dw", (be, t) -> be.rmsNormBackward(t[0], be.reshape(be.slice(t[1], 0, 0, 1), cols), 1e-6,
                t[1]).dw());
        ops.put("maxAll", (be, t) -> be.maxAll(t[0]));
        ops.put("rope", (be, t) -> be.rope(be.reshape(t[0], 3, 5, 70, 222), positions(be, 3, 70), 50000.0));
        ops.put("ropeBackward", (be, t) -> be.ropeBackward(be.reshape(t[0], 3, 5, 70, 222), positions(be, 3, 70), 50000.0));
        ops.put("crossEntropySum", (be, t) -> be.crossEntropySum(t[0], targets(be, rows, cols), -100));
        ops.put("crossEntropyBackward", (be, t) -> be.crossEntropyBackward(t[0], targets(be, rows, cols), -100, 0.25));
        ops.put("matmul Aᵀ·B", (be, t) -> be.matmul(t[0], t[1], true, false));
        ops.put("matmul A·Bᵀ", (be, t) -> be.matmul(t[0], t[1], false, true));
        ops.put("frobeniusNorms", (be, t) -> be.frobeniusNorms(be.reshape(t[0], 3, 100, cols)));
        try (CpuBackend one = new CpuBackend(1); CpuBackend three = new CpuBackend(3)) {
            Tensor[] a = {random(one, dt, 1, rows, cols), random(one, dt, 2, rows, cols)};
            Tensor[] b = {random(three, dt, 1, rows, cols), random(three, dt, 2, rows, cols)};
            for (var op : ops.entrySet()) {
                double[] x = one.toDoubles(op.getValue().apply(one, a)), y = three.toDoubles(op.getValue().apply(three, b));
                int differing = 0;
                for (int i = 0; i < x.length; i++) {
                    if (Double.doubleToRawLongBits(x[i]) != Double.doubleToRawLongBits(y[i])) differing++;
                }
                assertThat(y.length).as(op.getKey()).isEqualTo(x.length);
                assertThat(differing).as(op.getKey() + ": elements differing between 1 and 3 threads").isZero();
            }
        }
    }
}
