package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static moonlight4j.verify.ContractFixtures.assertExact;
import static moonlight4j.verify.ContractFixtures.bf16Bits;
import static moonlight4j.verify.ContractFixtures.gaussian;
import static moonlight4j.verify.ContractFixtures.round;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The backend contract: every op of the {@link Backend} SPI checked against a direct fp64 computation written in
 * the test, for F32, F64 and BF16, plus the shared error messages of {@link moonlight4j.api.Shapes}. Abstract:
 * each backend subclasses it and implements {@link #backend()} (as EJML's generic test suites). Uses only the SPI.
 *
 * <p>The suite is split by topic along a chain of abstract classes so each file stays small: {@link
 * ElementwiseContractTests} (elementwise, reductions, in-place), {@link LayerContractTests} (matmul, RMSNorm,
 * softmax, cross-entropy, RoPE), {@link IndexContractTests} (gathers, scatters, top-k), and this class (creation,
 * transfer, layout, errors), with {@link FusedContractTests} (batched matmul, Gram products, per-matrix norms, fused
 * optimizer updates: exact). Tolerances: {@link ContractFixtures}.
 */
public abstract class BackendContractTest extends IndexContractTests {

    @Test
    void identity() {
        Backend be = backend();
        assertThat(be.name()).isNotBlank();
        assertThat(be.device()).isNotBlank();
        assertThat(be.dtypes()).contains(DType.F32);
        assertThat(be.dtypeNotes()).isNotBlank();
    }

    // =============================================================== creation and transfer

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64", "BF16"})
    void zerosFullAndRoundTrips(DType dt) {
        assumeSupported(dt);
        Tensor z = backend().zeros(dt, 2, 0, 3);
        assertThat(z.shape()).containsExactly(2, 0, 3);
        assertThat(z.numel()).isZero();
        assertThat(vals(backend().zeros(dt, 3, 2))).containsOnly(0.0);
        Tensor f = backend().full(dt, 0.1, 4);
        assertThat(f.dtype()).isEqualTo(dt);
        assertThat(vals(f)).containsOnly(round(dt, 0.1));
        assertThat(backend().item(backend().full(dt, -2.5))).isEqualTo(-2.5);

        double[] v = gaussian(rng("roundTrip", dt), dt, 12, 1.0);
        Tensor x = t(dt, v, 3, 4);
        assertThat(x.shape()).containsExactly(3, 4);
        assertThat(x.rank()).isEqualTo(2);
        assertThat(x.dim(-1)).isEqualTo(4);
        assertExact("toDoubles", vals(x), v);
        float[] fl = backend().toFloats(x);
        for (int i = 0; i < v.length; i++) assertThat(fl[i]).isEqualTo((float) v[i]);
        if (dt == DType.BF16) {
            short[] bits = backend().toBf16Bits(x);
            for (int i = 0; i < v.length; i++) assertThat(bits[i]).isEqualTo(bf16Bits((float) v[i]));
        }
    }

    @Test
    void creationCopiesTheCallersArray() {
        float[] data = {1, 2, 3};
        Tensor x = backend().fromFloats(data, 3);
        data[0] = 42;
        assertThat(backend().toFloats(x)).containsExactly(1, 2, 3);
        long[] ids = {5, 6};
        Tensor l = backend().fromLongs(ids, 2);
        ids[0] = 0;
        assertThat(backend().toLongs(l)).containsExactly(5, 6);
        assertThat(backend().fromInts(new int[]{-3, 7}, 1, 2).dtype()).isEqualTo(DType.I32);
        assertThat(backend().toLongs(backend().fromInts(new int[]{-3, 7}, 1, 2))).containsExactly(-3, 7);
        assertThat(backend().item(backend().fromDoubles(new double[]{Math.PI}))).isEqualTo(Math.PI);
        assertThat(backend().toFloats(backend().fromDoubles(new double[]{Math.PI}, 1))).containsExactly((float) Math.PI);
    }

    @Test
    void buffersAreLittleEndianAndPositionsBehave() {
        // 1.0f = 3f800000, bf16 1.0 = 3f80, 1.0d = 3ff0000000000000, int 258 = 00000102
        byte[] bytes = {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, (byte) 0xc0};                // F32 [1, -2]
        ByteBuffer in = ByteBuffer.wrap(bytes);
        Tensor f = backend().fromBuffer(in, DType.F32, 2);
        assertThat(in.position()).as("fromBuffer leaves the position").isZero();
        assertThat(backend().toFloats(f)).containsExactly(1f, -2f);
        assertThat(backend().toFloats(backend().fromBuffer(ByteBuffer.wrap(new byte[]{(byte) 0x80, 0x3f, 0x49, 0x40}),
                DType.BF16, 2))).containsExactly(1f, 3.140625f);
        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1.0).putInt(258).putInt(-1);
        d.flip();
        assertThat(backend().item(backend().fromBuffer(d, DType.F64))).isEqualTo(1.0);
        d.position(8);
        assertThat(backend().toLongs(backend().fromBuffer(d, DType.I32, 2))).containsExactly(258, -1);

        for (DType dt : new DType[]{DType.F32, DType.BF16, DType.F64, DType.I32, DType.I64}) {
            if (!backend().dtypes().contains(dt)) continue;
            Tensor x = dt.isFloating() ? t(dt, new double[]{1.5, -0.25, 3}, 3)
                    : backend().cast(backend().fromLongs(new long[]{1, -2, 3}, 3), dt);
            ByteBuffer out = ByteBuffer.allocate(4 + 3 * dt.byteSize() + 4).order(ByteOrder.BIG_ENDIAN);
            out.position(4);
            backend().writeTo(x, out);
            assertThat(out.position()).as("writeTo advances " + dt).isEqualTo(4 + 3 * dt.byteSize());
            assertThat(out.order()).isEqualTo(ByteOrder.BIG_ENDIAN);
            out.position(4);
            assertExact("writeTo/fromBuffer " + dt, vals(backend().fromBuffer(out, dt, 3)), vals(x));
        }
        ByteBuffer le = ByteBuffer.allocate(2);
        backend().writeTo(t(DType.BF16, new double[]{1.0}, 1), le);
        assertThat(le.array()).containsExactly((byte) 0x80, 0x3f);
    }

    @Test
    void castRoundsToNearestEvenAndRejectsFloatToInt() {
        Random r = new Random(3);
        int n = 2000;
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(20) - 10));
        f[0] = 1f + 0x1p-8f;            // tie → 1
        f[1] = 1f + 3 * 0x1p-8f;        // tie → 1 + 2^-6
        f[2] = Float.MAX_VALUE;         // overflows to Inf
        f[3] = Float.MIN_VALUE;         // subnormal
        f[4] = Float.NEGATIVE_INFINITY;
        Tensor x = backend().fromFloats(f, n);
        short[] bits = backend().toBf16Bits(backend().cast(x, DType.BF16));
        for (int i = 0; i < n; i++) assertThat(bits[i]).as("bf16 of " + f[i]).isEqualTo(bf16Bits(f[i]));
        assertThat(Float.isNaN(backend().toFloats(backend().cast(backend().fromFloats(new float[]{Float.NaN}, 1), DType.BF16))[0])).isTrue();
        Tensor b = backend().cast(x, DType.BF16);
        assertExact("BF16→F32 is exact", vals(backend().cast(b, DType.F32)), vals(b));
        assertExact("F32→F64 is exact", vals(backend().cast(x, DType.F64)), vals(x));
        double[] dv = {Math.PI, 1e-50, -1e40};
        assertThat(backend().toFloats(backend().cast(backend().fromDoubles(dv, 3), DType.F32)))
                .containsExactly((float) Math.PI, 0f, Float.NEGATIVE_INFINITY);
        assertThat(vals(backend().cast(backend().fromLongs(new long[]{3, -4}, 2), DType.F32))).containsExactly(3.0, -4.0);
        assertThatThrownBy(() -> backend().cast(x, DType.I64)).isInstanceOf(IllegalArgumentException.class);
        Tensor c = backend().copy(x);
        backend().scaleInPlace(x, 2.0);
        assertThat(backend().toFloats(c)).containsExactly(f);
    }

    // =============================================================== layout

    @Test
    void reshapePermuteTransposeSliceConcat() {
        double[] v = new double[24];
        for (int i = 0; i < v.length; i++) v[i] = i;
        Tensor x = backend().fromDoubles(v, 2, 3, 4);
        assertThat(backend().reshape(x, 4, -1).shape()).containsExactly(4, 6);
        assertExact("reshape", vals(backend().reshape(x, 6, 4)), v);

        Tensor p = backend().permute(x, 2, 0, 1);                                     // (4, 2, 3)
        assertThat(p.shape()).containsExactly(4, 2, 3);
        double[] pref = new double[24];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 4; c++) pref[(c * 2 + a) * 3 + b] = v[(a * 3 + b) * 4 + c];
        assertExact("permute", vals(p), pref);

        Tensor tr = backend().transpose(x);                                            // (2, 4, 3)
        double[] tref = new double[24];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 4; c++) tref[(a * 4 + c) * 3 + b] = v[(a * 3 + b) * 4 + c];
        assertExact("transpose", vals(tr), tref);

        Tensor s = backend().slice(x, -1, 1, 3);                                       // (2, 3, 2)
        assertThat(s.shape()).containsExactly(2, 3, 2);
        double[] sref = new double[12];
        for (int ab = 0; ab < 6; ab++)
            for (int c = 1; c < 3; c++) sref[ab * 2 + c - 1] = v[ab * 4 + c];
        assertExact("slice", vals(s), sref);
        assertThat(backend().slice(x, 1, 2, 2).shape()).containsExactly(2, 0, 4);

        Tensor cat = backend().concat(1, backend().slice(x, 1, 0, 1), backend().slice(x, 1, 1, 3));
        assertExact("concat", vals(cat), v);
        Tensor cat0 = backend().concat(0, x, x);
        assertThat(cat0.shape()).containsExactly(4, 3, 4);
        double[] c0 = vals(cat0);
        for (int i = 0; i < 24; i++) assertThat(c0[i]).isEqualTo(v[i]).isEqualTo(c0[24 + i]);
    }

    // =============================================================== shared error messages (moonlight4j.api.Shapes)

    @Test
    void badShapesAndDtypesFailWithTheSharedMessages() {
        Backend be = backend();
        Tensor a23 = be.zeros(DType.F32, 2, 3), b45 = be.zeros(DType.F32, 4, 5), d23 = be.zeros(DType.F64, 2, 3);
        Tensor ids = be.fromLongs(new long[]{0, 1}, 2);
        assertError(() -> be.matmul(a23, b45, false, false), "matmul: inner dimensions differ: a [2, 3] · b [4, 5] (3 vs 4)");
        assertError(() -> be.matmul(a23, d23, false, true), "matmul: dtypes differ: F32 vs F64");
        assertError(() -> be.matmul(be.zeros(DType.F32, 2, 3, 4), be.zeros(DType.F32, 3, 4, 5), false, false),
                "matmul: batch sizes differ: [2, 3, 4] vs [3, 4, 5]");
        assertError(() -> be.add(a23, be.zeros(DType.F32, 4)), "add: shapes [2, 3] and [4] do not broadcast");
        assertError(() -> be.exp(ids), "exp: expected a floating dtype (F32, BF16, F64), got I64");
        assertError(() -> be.mul(a23, d23), "mul: dtypes differ: F32 vs F64");
        assertError(() -> be.sum(a23, 2), "sum: axis 2 out of range for rank 2");
        assertError(() -> be.rmsNorm(a23, be.zeros(DType.F32, 4), 1e-6),
                "rmsNorm: expected x [..., C] and weight [C], got [2, 3] and [4]");
        assertError(() -> be.rope(be.zeros(DType.F32, 1, 1, 2, 3), ids, 1e4),
                "rope: expected x [B, H, S, D] with even D, got [1, 1, 2, 3]");
        assertError(() -> be.rope(be.zeros(DType.F32, 1, 1, 3, 4), be.fromLongs(new long[]{0, 1}, 1, 2), 1e4),
                "rope: expected position ids [1, 3], got [1, 2]");
        assertError(() -> be.embedding(a23, a23), "embedding: expected an index tensor (I64 or I32), got F32");
        assertError(() -> be.crossEntropySum(a23, be.fromLongs(new long[]{0}, 1), -100),
                "crossEntropy: expected logits [N, V] and targets [N], got [2, 3] and [1]");
        assertError(() -> be.gatherRows(be.zeros(DType.F32, 3), ids),
                "gatherRows: expected x [N, C] and idx [M], got [3] and [2]");
        assertError(() -> be.slice(a23, 0, 1, 5), "slice: range [1, 5) outside axis 0 of size 2");
        assertError(() -> be.concat(1, a23, be.zeros(DType.F32, 3, 3)), "concat: shapes [2, 3] and [3, 3] differ outside axis 1");
        assertError(() -> be.permute(a23, 0, 0), "permute: [0, 0] is not a permutation of the axes of [2, 3]");
        assertError(() -> be.reshape(a23, 4, 2), "reshape: [2, 3] (6 elements) cannot become [4, 2]");
        assertError(() -> be.fromFloats(new float[5], 2, 3), "fromFloats: 5 values given for shape [2, 3], expected 6");
        assertError(() -> be.axpyInPlace(be.zeros(DType.F32, 2), 1.0, be.zeros(DType.F32, 3)), "axpyInPlace: shapes differ: [2] vs [3]");
        assertError(() -> be.copyInto(be.zeros(DType.F32, 2), ids), "copyInto: expected a floating dtype (F32, BF16, F64), got I64");
        assertError(() -> be.siluBackward(a23, be.zeros(DType.F32, 3, 2)), "siluBackward: shapes differ: [2, 3] vs [3, 2]");
    }

    @Test
    void closedTensorsAndForeignTensorsAreRejected() {
        Tensor x = backend().zeros(DType.F32, 2);
        x.close();
        x.close();                                                                      // idempotent
        assertThatThrownBy(() -> backend().toFloats(x)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> backend().add(x, x)).isInstanceOf(IllegalStateException.class);
        Tensor foreign = new Tensor() {
            @Override
            public int[] shape() {
                return new int[]{2};
            }

            @Override
            public DType dtype() {
                return DType.F32;
            }

            @Override
            public Backend backend() {
                return null;
            }

            @Override
            public void close() {
            }
        };
        assertThatThrownBy(() -> backend().add(backend().zeros(DType.F32, 2), foreign))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("add");
    }
}
