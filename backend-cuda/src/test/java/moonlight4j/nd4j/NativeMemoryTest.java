package moonlight4j.nd4j;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataBuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The pool of host buffers behind large op results ({@link NativeMemory}): a closed, scoped or collected tensor's
 * buffer is reused, a buffer is reused only once nothing holds it (a reshape shares it), and values survive reuse
 * of other buffers.
 */
class NativeMemoryTest {

    static Backend be;
    static final int ROWS = 128, COLS = 256;          // 128 KiB of fp32: above POOL_MIN_BYTES

    @BeforeAll
    static void nd4j() {
        be = new Nd4jBackendProvider().create();
        assumeFalse(DeviceInfo.cuda(), "the pool serves nd4j-native only");
        assertThat((long) ROWS * COLS * 4).isGreaterThanOrEqualTo(NativeMemory.POOL_MIN_BYTES);
    }

    static DataBuffer buffer(Tensor t) {
        return ((Nd4jTensor) t).array().data();
    }

    static Tensor ramp() {
        float[] f = new float[ROWS * COLS];
        for (int i = 0; i < f.length; i++) f[i] = i;
        try (Tensor src = be.fromFloats(f, ROWS, COLS)) {
            return be.copy(src);                           // an op result: pooled
        }
    }

    @Test
    void aClosedResultsBufferServesTheNextResultOfItsSize() {
        Tensor a = ramp();
        DataBuffer first = buffer(a);
        assertThat(NativeMemory.blockOf(((Nd4jTensor) a).array())).isNotNull();
        a.close();
        try (Tensor b = be.zeros(DType.F32, ROWS, COLS)) {
            assertThat(buffer(b)).isSameAs(first);
            assertThat(be.toFloats(b)).containsOnly(0f);   // zeros really zeroes a reused buffer
        }
    }

    @Test
    void aReshapeSharesTheBufferWhichReturnsOnlyWhenBothLetGo() {
        Tensor a = ramp();
        Tensor r = be.reshape(a, COLS, ROWS);
        assertThat(buffer(r)).isSameAs(buffer(a));
        a.close();
        try (Tensor other = be.zeros(DType.F32, ROWS, COLS)) {   // must not take the buffer r still holds
            assertThat(buffer(other)).isNotSameAs(buffer(r));
            float[] v = be.toFloats(r);
            for (int i = 0; i < v.length; i++) assertThat(v[i]).isEqualTo(i);
        }
        DataBuffer shared = buffer(r);
        r.close();
        try (Tensor next = be.zeros(DType.F32, COLS, ROWS)) {
            assertThat(buffer(next)).isSameAs(shared);
        }
        assertThatThrownBy(() -> be.toFloats(r)).hasMessageContaining("used after close()");
    }

    @Test
    void aScopeGivesBackWhatItClosesAndACollectedTensorGivesBackToo() throws InterruptedException {
        int during;
        try (TensorScope s = TensorScope.open()) {
            Tensor kept = ramp();
            assertThat(kept.rank()).isEqualTo(2);
            during = NativeMemory.freeBuffers();
        }
        assertThat(NativeMemory.freeBuffers()).isEqualTo(during + 1);

        ramp();                                            // garbage at once, never closed
        int now = NativeMemory.freeBuffers();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (NativeMemory.freeBuffers() <= now && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(NativeMemory.freeBuffers()).isEqualTo(now + 1);   // its Cleaner gave the buffer back
    }

    @Test
    void discardReturnsATemporaryButNotOneATensorHolds() {
        org.nd4j.linalg.api.ndarray.INDArray tmp = NativeMemory.uninitialized(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, ROWS, COLS);
        int free = NativeMemory.freeBuffers();
        NativeMemory.discard(tmp);
        assertThat(NativeMemory.freeBuffers()).isEqualTo(free + 1);

        Tensor held = ramp();
        int free2 = NativeMemory.freeBuffers();
        NativeMemory.discard(((Nd4jTensor) held).array());
        assertThat(NativeMemory.freeBuffers()).isEqualTo(free2);   // still held: not given back
        assertThat(be.toFloats(held)[5]).isEqualTo(5f);
        held.close();
    }

    /**
     * Every op gives back the pooled temporaries it takes: after the results are closed, no more buffers are in use
     * than before (a temporary closed instead of given back, or never given back, would stay counted).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "BF16", "F64"})
    void opsGiveBackEveryPooledTemporary(DType dt) {
        java.util.Random r = new java.util.Random(3);
        int b = 2, h = 4, s = 64, d = 32, c = 512;                   // every tensor at least 64 KiB in fp32
        float[] xs = new float[b * h * s * d], ws = new float[c], rows = new float[b * s * c];
        for (float[] f : new float[][]{xs, ws, rows}) for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        long[] pos = new long[b * s];
        for (int i = 0; i < pos.length; i++) pos[i] = i % s;
        try (Tensor x0 = be.fromFloats(xs, b, h, s, d); Tensor w0 = be.fromFloats(ws, c);
             Tensor m0 = be.fromFloats(rows, b * s, c); Tensor ids = be.fromLongs(pos, b, s)) {
            Tensor x = be.cast(x0, dt), w = be.cast(w0, dt), m = be.cast(m0, dt);
            int before = NativeMemory.inUse();
            java.util.List<Tensor> out = new java.util.ArrayList<>();
            out.add(be.rope(x, ids, 10000));
            out.add(be.ropeBackward(x, ids, 10000));
            out.add(be.rmsNorm(m, w, 1e-6));
            moonlight4j.api.RmsNormGrads g = be.rmsNormBackward(m, w, 1e-6, m);
            out.add(g.dx());
            out.add(g.dw());
            out.add(be.softmax(m));
            out.add(be.softmaxBackward(m, m));
            out.add(be.silu(m));
            out.add(be.siluBackward(m, m));
            out.add(be.add(m, w));
            out.add(be.mulScalar(m, 0.5));
            out.add(be.matmul(m, m, false, true));
            out.add(be.matmul(m, w.dtype() == m.dtype() ? m : m, true, false));
            out.add(be.cast(m, dt == DType.F32 ? DType.BF16 : DType.F32));
            out.add(be.transpose(m));
            out.add(be.concat(0, m, m));
            out.add(be.slice(m, 0, 1, 100));
            for (Tensor t : out) t.close();
            assertThat(NativeMemory.inUse()).as("pooled buffers in use after the results are closed").isEqualTo(before);
            for (Tensor t : new Tensor[]{x, w, m}) t.close();
        }
    }

    /**
     * A reshape into a shape with unit dimensions (attention's {@code (B, 1, T, d)} key gradient) keeps its pooled
     * buffer counted: when the reshape copies (its source is not pooled), the copy is given back on close; when it
     * shares, both results let go. Before, a copy whose shape had a unit dimension was not recognised as pooled and
     * stayed in use forever, four buffers per tiny-preset training step.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"128,1,256", "1,128,256", "128,256,1", "1,1,32768", "32768,1,1"})
    void aReshapeWithUnitDimensionsGivesItsBufferBack(String dims) {
        int[] shape = java.util.Arrays.stream(dims.split(",")).mapToInt(Integer::parseInt).toArray();
        float[] f = new float[ROWS * COLS];
        for (int i = 0; i < f.length; i++) f[i] = i;
        try (Tensor src = be.fromFloats(f, ROWS, COLS)) {              // not pooled: the reshape copies
            int before = NativeMemory.inUse();
            Tensor copied = be.reshape(src, shape);
            assertThat(NativeMemory.blockOf(((Nd4jTensor) copied).array())).as("the copy is pooled").isNotNull();
            Tensor shared = be.reshape(copied, ROWS, COLS);           // pooled: the reshape shares
            assertThat(buffer(shared)).isSameAs(buffer(copied));
            assertThat(be.toFloats(shared)[ROWS * COLS - 1]).isEqualTo(ROWS * COLS - 1);
            copied.close();
            shared.close();
            assertThat(NativeMemory.inUse()).as("pooled buffers in use after both results are closed").isEqualTo(before);
        }
    }

    @Test
    void aFreeBufferOfASizeThatStopsRecurringIsFreedAfterMaxAgeResults() {
        Tensor odd = ramp();
        DataBuffer oddBuffer = buffer(odd);
        odd.close();                                                   // back on the free list
        assertThat(oddBuffer.wasClosed()).isFalse();
        try (Tensor small = be.zeros(DType.F32, ROWS, COLS / 2)) {     // another size, recurring
            for (long i = 0; i <= NativeMemory.MAX_AGE + 1; i++) be.copy(small).close();
        }
        assertThat(oddBuffer.wasClosed()).as("a free buffer unused for MAX_AGE results is freed").isTrue();
    }

    /** Size classes: never shorter than asked, at most 1/8 longer, exact on 8..16 × a power of two, monotone. */
    @Test
    void aBufferIsAtMostAnEighthLongerThanItsResult() {
        java.util.Random r = new java.util.Random(5);
        long previous = 0;
        for (long n = 16; n < 1 << 20; n += 1 + r.nextInt(97)) {
            long c = NativeMemory.capacityFor(n);
            assertThat(c).as("capacity of %d", n).isGreaterThanOrEqualTo(n).isLessThanOrEqualTo(n + n / 8)
                    .isGreaterThanOrEqualTo(previous);
            previous = c;
        }
        for (long e = 4; e < 40; e++) {
            for (long j = 8; j <= 16; j++) assertThat(NativeMemory.capacityFor(j << (e - 3))).isEqualTo(j << (e - 3));
        }
        assertThat(NativeMemory.capacityFor(128 * 250)).isEqualTo(32_768);
        assertThat(NativeMemory.capacityFor(32_769)).isEqualTo(36_864);
    }

    static long address(Tensor t) {
        return buffer(t).addressPointer().address();
    }

    /**
     * A result whose length is not a class size sits at the start of a longer buffer, and a later result of
     * another length in the same class takes the same memory: the host loops still serve it (it covers its data
     * buffer), and its values are its own, whatever the longer buffer held past its end.
     */
    @Test
    void resultsOfDifferentLengthsInOneSizeClassShareABuffer() {
        int colsA = 250, colsB = 245;                     // 32,000 and 31,360 elements: both in the class of 32,768
        float[] f = new float[ROWS * colsA];
        for (int i = 0; i < f.length; i++) f[i] = i;
        Tensor a;
        try (Tensor src = be.fromFloats(f, ROWS, colsA)) {
            a = be.copy(src);
        }
        long at = address(a);
        assertThat(buffer(a).length()).isEqualTo(ROWS * colsA);
        assertThat(HostKernels.applies(((Nd4jTensor) a).array())).as("host loops serve the shorter result").isTrue();
        a.close();
        try (Tensor threes = be.fromFloats(filled(ROWS * colsB, 3f), ROWS, colsB);
             Tensor b = be.copy(threes)) {                // an op result of the other length
            assertThat(address(b)).as("the same memory").isEqualTo(at);
            assertThat(buffer(b).length()).isEqualTo(ROWS * colsB);
            assertThat(be.toFloats(b)).hasSize(ROWS * colsB).containsOnly(3f);
            try (Tensor r = be.reshape(b, colsB, ROWS); Tensor s = be.sumAll(r)) {   // a reshape shares it
                assertThat(address(r)).isEqualTo(at);
                assertThat(be.item(s)).isEqualTo(3.0 * ROWS * colsB);
            }
        }
    }

    static float[] filled(int n, float v) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, v);
        return f;
    }

    /**
     * {@code X·Yᵀ} with Y a copy of X takes the symmetric product exactly as {@code X·Xᵀ} does, also when the two
     * sit in pooled buffers whose memory past their ends holds different values: only the arrays' own bytes are
     * compared.
     */
    @Test
    void theGramOfACopyIsTheGramOfTheOriginalOnReusedBuffers() {
        int rows = 131, cols = 129;                       // 16,899 elements, a buffer of 18,432
        java.util.Random r = new java.util.Random(9);
        try (Tensor seven = be.fromFloats(filled(18_432, 7f), 18_432); Tensor minus3 = be.fromFloats(filled(18_432, -3f), 18_432);
             Tensor c1 = be.copy(seven); Tensor c2 = be.copy(minus3)) {   // two buffers of the class, different past 16,899
            assertThat(address(c1)).isNotEqualTo(address(c2));
        }
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        try (Tensor src = be.fromFloats(v, rows, cols); Tensor x = be.copy(src); Tensor y = be.copy(src);
             Tensor xx = be.matmul(x, x, false, true); Tensor xy = be.matmul(x, y, false, true)) {
            assertThat(address(x)).isNotEqualTo(address(y));
            assertThat(be.toFloats(xy)).isEqualTo(be.toFloats(xx));
        }
    }
}
