package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.BackendProvider;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.nd4j.Nd4jBackendProvider;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;

/** The nd4j backend's own contract: registration, lifetime of tensors, bf16 rounding, device description. */
class Nd4jBackendTest {

    final Backend nd4j = Backends.get("nd4j");

    /**
     * Registration in either build flavour: the provider's priority is the one the build wrote into
     * {@code moonlight4j-nd4j.properties} (backend-cuda/pom.xml's {@code nd4j.priority}): with nd4j-native it ranks
     * below the oracle (−10: on a CPU the oracle is the faster default), under {@code -Pcuda} above it (10), and the
     * device description names the CPU threads or the GPU accordingly.
     */
    @Test
    void providerIsRegisteredWithItsBuildFlavoursPriority() throws java.io.IOException {
        BackendProvider p = Backends.providers().stream().filter(x -> x.name().equals("nd4j")).findFirst().orElseThrow();
        assertThat(p).isInstanceOf(Nd4jBackendProvider.class);
        java.util.Properties built = new java.util.Properties();
        try (var in = Nd4jBackendProvider.class.getResourceAsStream("/moonlight4j-nd4j.properties")) {
            built.load(in);
        }
        assertThat(p.priority()).isEqualTo(Integer.parseInt(built.getProperty("priority").trim()));
        assertThat(p.unavailableReason()).isNull();
        assertThat(nd4j.name()).isEqualTo("nd4j");
        assertThat(nd4j.dtypes()).contains(DType.F32, DType.BF16, DType.F64, DType.I32, DType.I64);
        assertThat(nd4j.dtypeNotes()).contains("BF16").contains("round-to-nearest-even");
        if (org.nd4j.linalg.factory.Nd4j.getEnvironment().isCPU()) {
            assertThat(p.priority()).isEqualTo(-10);
            assertThat(Backends.providers()).extracting(BackendProvider::name).containsSubsequence("cpu", "nd4j");
            assertThat(nd4j.device()).contains("threads");
        } else {
            assertThat(p.priority()).isEqualTo(10);
            assertThat(Backends.providers()).extracting(BackendProvider::name).containsSubsequence("nd4j", "cpu");
            assertThat(nd4j.device()).containsAnyOf("cuBLAS", "CUDA GPU");      // DeviceInfo.gpu()
        }
    }

    @Test
    void closedTensorsFailClearlyAndCloseTwiceIsAllowed() {
        Tensor t = nd4j.fromFloats(new float[]{1, 2, 3}, 3);
        Tensor r = nd4j.reshape(t, 1, 3);     // owns its storage: closing t must not invalidate it
        t.close();
        t.close();
        assertThat(catchThrowable(() -> nd4j.toFloats(t))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("used after close()");
        assertThat(nd4j.toFloats(r)).containsExactly(1, 2, 3);
        r.close();
    }

    /** Java reference: RNE from fp32 bits, NaN kept a quiet NaN. */
    static short rne(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((b >>> 16) | 0x40);
        return (short) ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
    }

    /**
     * Rounding F32 → BF16 on nd4j (ND4J's casts plus the NaN path) equals the RNE bit formula on random bit patterns,
     * a quarter of them exact ties and a quarter one below a tie, with NaNs, infinities and subnormals mixed in.
     */
    @Test
    void castToBf16IsRoundToNearestEvenOnEveryBitPattern() {
        qt().withExamples(40).forAll(integers().all()).checkAssert(seed -> {
            Random r = new Random(seed);
            float[] f = new float[257];
            for (int i = 0; i < f.length; i++) {
                int bits = r.nextInt();
                if (i % 4 == 0) bits = (bits & 0xffff0000) | 0x8000;          // exact tie
                if (i % 4 == 1) bits = (bits & 0xffff0000) | 0x7fff;          // just below a tie
                f[i] = Float.intBitsToFloat(bits);
            }
            f[r.nextInt(f.length)] = Float.NaN;
            f[r.nextInt(f.length)] = Float.NEGATIVE_INFINITY;
            f[r.nextInt(f.length)] = Float.MIN_VALUE;
            try (Tensor x = nd4j.fromFloats(f, f.length); Tensor b = nd4j.cast(x, DType.BF16)) {
                short[] got = nd4j.toBf16Bits(b);
                for (int i = 0; i < f.length; i++) {
                    float e = Float.intBitsToFloat((rne(f[i]) & 0xffff) << 16), g = Float.intBitsToFloat((got[i] & 0xffff) << 16);
                    if (Float.isNaN(e)) assertThat(g).as("element %d", i).isNaN();
                    else assertThat(got[i]).as("element %d of %s", i, Integer.toHexString(Float.floatToRawIntBits(f[i])))
                            .isEqualTo(rne(f[i]));
                }
            }
        });
    }

    /**
     * A BF16 matmul sums in fp32 and rounds once (bf16 spacing at 1 is 2⁻⁷): [1, 2⁻⁸, 2⁻¹⁰]·1 = 1 + 2⁻⁸ + 2⁻¹⁰ rounds up
     * to 1 + 2⁻⁷ (a bf16-accumulating loop would give 1 + 2⁻⁸ → 1, then 1 + 2⁻¹⁰ → 1); 1 + 2⁻⁸ is a tie → even 1;
     * 1 + 2⁻⁷ + 2⁻⁸ is a tie → even 1 + 2⁻⁶.
     */
    @Test
    void bf16MatmulRoundsTheFp32ResultOnce() {
        assertThat(bf16Dot(1, 0x1p-8f, 0x1p-10f)).isEqualTo(1 + 0x1p-7f);
        assertThat(bf16Dot(1, 0x1p-8f)).isEqualTo(1f);
        assertThat(bf16Dot(1, 0x1p-7f, 0x1p-8f)).isEqualTo(1 + 0x1p-6f);
    }

    /** Σ v_k as a BF16 matmul of the row v with a column of ones. */
    private float bf16Dot(float... v) {
        float[] ones = new float[v.length];
        java.util.Arrays.fill(ones, 1f);
        try (Tensor a32 = nd4j.fromFloats(v, 1, v.length); Tensor b32 = nd4j.fromFloats(ones, v.length, 1);
             Tensor a = nd4j.cast(a32, DType.BF16); Tensor b = nd4j.cast(b32, DType.BF16);
             Tensor c = nd4j.matmul(a, b, false, false)) {
            assertThat(c.dtype()).isEqualTo(DType.BF16);
            return nd4j.toFloats(c)[0];
        }
    }

    /** The in-place fused Adam gives the bits of the op sequence that defines it, in F32 and F64, both variants. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"F32, true", "F32, false", "F64, true", "F64, false"})
    void fusedAdamEqualsItsOpSequence(DType dtype, boolean lerpV) {
        java.util.Random r = new java.util.Random(3);
        float[][] x = new float[4][777];
        for (float[] a : x) for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(5) - 3));
        for (int i = 0; i < x[3].length; i++) x[3][i] = Math.abs(x[3][i]) * 1e-3f;   // v ≥ 0
        moonlight4j.api.AdamUpdate u = new moonlight4j.api.AdamUpdate(0.999, 0.9, 0.95, lerpV, lerpV ? 1.0 : 3.2, 1e-8, 0.01);
        Tensor[] a = new Tensor[4], b = new Tensor[4];
        for (int k = 0; k < 4; k++) {
            try (Tensor f = nd4j.fromFloats(x[k], 7, 111)) {
                a[k] = nd4j.cast(f, dtype);
                b[k] = nd4j.cast(f, dtype);
            }
        }
        double expected = moonlight4j.api.FusedOps.adam(nd4j, a[0], a[1], a[2], a[3], u);
        double actual = nd4j.adamUpdateInPlace(b[0], b[1], b[2], b[3], u);
        assertThat(actual).isEqualTo(expected);
        for (int k : new int[]{0, 2, 3}) assertThat(nd4j.toDoubles(b[k])).as("tensor %d", k).containsExactly(nd4j.toDoubles(a[k]));
        for (int k = 0; k < 4; k++) {
            a[k].close();
            b[k].close();
        }
    }
}
