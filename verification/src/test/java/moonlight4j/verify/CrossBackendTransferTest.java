package moonlight4j.verify;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static moonlight4j.verify.CrossBackendSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;

/** Creation, transfer, layout ops and the optimizer's in-place updates of {@code nd4j} against the {@code cpu} oracle. */
class CrossBackendTransferTest {

    @AfterAll
    static void report() {
        printWorst("CrossBackendTransferTest");
    }

    /** Bytes written by each backend for the same tensor are identical, and read back identically. */
    @Test
    void bytesRoundTripIdentically() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            Tensor[] x = both(c.dt(), normal(r, numel(s), 4), s);
            int bytes = numel(s) * c.dt().byteSize();
            ByteBuffer bo = ByteBuffer.allocate(bytes + 3), bn = ByteBuffer.allocate(bytes + 3);
            bo.position(3);
            bn.position(3);
            CPU.writeTo(x[0], bo);
            ND4J.writeTo(x[1], bn);
            assertThat(bn.position()).isEqualTo(3 + bytes);
            assertThat(bn.array()).containsExactly(bo.array());
            assertThat(ND4J.toFloats(x[1])).containsExactly(CPU.toFloats(x[0]));
            if (c.dt() == DType.BF16) assertThat(ND4J.toBf16Bits(x[1])).containsExactly(CPU.toBf16Bits(x[0]));
            long[] ids = new long[numel(s)];
            for (int i = 0; i < ids.length; i++) ids[i] = r.nextLong() >> r.nextInt(64);
            ByteBuffer lb = ByteBuffer.allocate(ids.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long l : ids) lb.putLong(l);
            lb.flip();
            Tensor lo = CPU.fromBuffer(lb, DType.I64, s), ln = ND4J.fromBuffer(lb, DType.I64, s);
            assertThat(ND4J.toLongs(ln)).containsExactly(ids).containsExactly(CPU.toLongs(lo));
            int[] ints = new int[numel(s)];
            for (int i = 0; i < ints.length; i++) ints[i] = r.nextInt();
            assertThat(ND4J.toLongs(ND4J.fromInts(ints, s))).containsExactly(CPU.toLongs(CPU.fromInts(ints, s)));
            closeAll(x[0], x[1], lo, ln);
        });
    }

    /** Casts between every pair of floating dtypes (BF16 by round-to-nearest-even, via fp32) are bit-equal. */
    @Test
    void castsAreBitExact() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            double[] v = normal(r, numel(s), 100);
            v[0] = r.nextBoolean() ? 1 + 0x1p-8 : 1 + 0x1p-8 + 0x1p-30;      // a bf16 tie and a just-above-tie
            Tensor[] x = both(c.dt(), v, s);
            for (DType to : FLOATING) {
                assertExact("cast " + c.dt() + "→" + to, CPU.cast(x[0], to), ND4J.cast(x[1], to));
            }
            Tensor[] d = both(DType.F64, v, s);
            assertExact("cast F64→BF16", CPU.cast(d[0], DType.BF16), ND4J.cast(d[1], DType.BF16));
            assertExact("zeros", CPU.zeros(c.dt(), s), ND4J.zeros(c.dt(), s));
            assertExact("full", CPU.full(c.dt(), v[v.length - 1], s), ND4J.full(c.dt(), v[v.length - 1], s));
            closeAll(x[0], x[1], d[0], d[1]);
        });
    }

    /** reshape, permute, transpose, slice, concat and copy move values exactly. */
    @Test
    void layoutOpsAreBitExact() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            Tensor[] x = both(c.dt(), normal(r, numel(s), 1), s);
            assertExact("copy", CPU.copy(x[0]), ND4J.copy(x[1]));
            assertExact("reshape", CPU.reshape(x[0], c.n(), -1), ND4J.reshape(x[1], c.n(), -1));
            int[][] perms = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
            int[] p = perms[r.nextInt(perms.length)];
            assertExact("permute", CPU.permute(x[0], p), ND4J.permute(x[1], p));
            assertExact("transpose", CPU.transpose(x[0]), ND4J.transpose(x[1]));
            int axis = r.nextInt(3) - (r.nextBoolean() ? 3 : 0);
            int size = s[Math.floorMod(axis, 3)], from = r.nextInt(size), to = from + r.nextInt(size - from + 1);
            assertExact("slice", CPU.slice(x[0], axis, from, to), ND4J.slice(x[1], axis, from, to));
            int[] s2 = s.clone();
            s2[Math.floorMod(axis, 3)] = 1 + r.nextInt(3);
            Tensor[] y = both(c.dt(), normal(r, numel(s2), 1), s2);
            assertExact("concat", CPU.concat(axis, x[0], y[0], x[0]), ND4J.concat(axis, x[1], y[1], x[1]));
            closeAll(x[0], x[1], y[0], y[1]);
        });
    }

    /**
     * In-place updates: copyInto (across dtypes), scaleInPlace and lerpInPlace are single correctly rounded ops,
     * bit-equal. axpyInPlace: the oracle forms p + α·u in double and rounds once (error ≤ u·|p + αu|), nd4j uses
     * BLAS axpy, at worst multiply-then-add (≤ u·|αu| + u·|p + αu|): bound 3·u·(|p| + |α u|) + 1 bf16 ulp
     * (measured worst 1.8 for F32, 2.0 for F64: this BLAS axpy does not fuse).
     */
    @Test
    void inPlaceUpdatesAgree() {
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            Random r = new Random(c.seed());
            int[] s = {c.b(), c.m(), c.n()};
            DType other = FLOATING[r.nextInt(3)];
            Tensor[] p = both(c.dt(), normal(r, numel(s), 1), s), u = both(other, normal(r, numel(s), 1), s),
                    b = both(c.dt(), normal(r, numel(s), 1), s);
            double alpha = -r.nextDouble() * 0.1, scale = 1 - r.nextDouble() * 0.01, w = r.nextDouble();
            Tensor po = CPU.copy(p[0]), pn = ND4J.copy(p[1]);
            CPU.copyInto(po, u[0]);
            ND4J.copyInto(pn, u[1]);
            assertExact("copyInto " + other + "→" + c.dt(), po, pn);
            CPU.copyInto(po, p[0]);
            ND4J.copyInto(pn, p[1]);
            CPU.scaleInPlace(po, scale);
            ND4J.scaleInPlace(pn, scale);
            assertExact("scaleInPlace", po, pn);
            CPU.lerpInPlace(po, b[0], w);
            ND4J.lerpInPlace(pn, b[1], w);
            assertExact("lerpInPlace", po, pn);
            double[] pv = values(po), uv = values(u[0]), sc = new double[pv.length];
            for (int i = 0; i < sc.length; i++) sc[i] = Math.abs(pv[i]) + Math.abs(alpha * uv[i]);
            CPU.axpyInPlace(po, alpha, u[0]);
            ND4J.axpyInPlace(pn, alpha, u[1]);
            assertClose("axpyInPlace", c, po, pn, 3, sc, 1);
            closeAll(p[0], p[1], u[0], u[1], b[0], b[1], po, pn);
        });
    }

    /** Zero-sized dimensions: every op returns the oracle's (empty or zero) result instead of libnd4j's refusal. */
    @Test
    void emptyTensorsAreHandledLikeTheOracle() {
        for (DType dt : FLOATING) {
            java.util.Map<String, java.util.function.Function<moonlight4j.api.Backend, Tensor>> ops = new java.util.LinkedHashMap<>();
            ops.put("matmul K=0", be -> be.matmul(be.zeros(dt, 2, 0), be.zeros(dt, 0, 3), false, false));
            ops.put("sum over empty axis", be -> be.sum(be.zeros(dt, 2, 0), 1));
            ops.put("sumSquares", be -> be.sumSquares(be.zeros(dt, 0, 3)));
            ops.put("frobeniusNorm", be -> be.frobeniusNorm(be.zeros(dt, 0)));
            ops.put("add broadcast", be -> be.add(be.zeros(dt, 0, 3), be.zeros(dt, 3)));
            ops.put("softmax", be -> be.softmax(be.zeros(dt, 0, 3)));
            ops.put("softmaxBackward", be -> be.softmaxBackward(be.zeros(dt, 0, 3), be.zeros(dt, 0, 3)));
            ops.put("rmsNorm", be -> be.rmsNorm(be.zeros(dt, 0, 3), be.full(dt, 1, 3), 1e-6));
            ops.put("rmsNormBackward dw", be -> be.rmsNormBackward(be.zeros(dt, 0, 3), be.full(dt, 1, 3), 1e-6,
                    be.zeros(dt, 0, 3)).dw());
            ops.put("crossEntropySum", be -> be.crossEntropySum(be.zeros(dt, 0, 3), be.zeros(DType.I64, 0), -100));
            ops.put("crossEntropyBackward", be -> be.crossEntropyBackward(be.zeros(dt, 0, 3), be.zeros(DType.I64, 0), -100, 1));
            ops.put("rope", be -> be.rope(be.zeros(dt, 1, 0, 2, 4), be.zeros(DType.I64, 1, 2), 1e4));
            ops.put("embedding", be -> be.embedding(be.full(dt, 1, 3, 2), be.zeros(DType.I64, 0)));
            ops.put("embeddingBackward", be -> be.embeddingBackward(be.zeros(dt, 0, 2), be.zeros(DType.I64, 0), 3));
            ops.put("concat", be -> be.concat(0, be.full(dt, 1, 1, 2), be.zeros(dt, 0, 2)));
            ops.put("slice", be -> be.slice(be.full(dt, 1, 2, 3), 1, 1, 1));
            ops.forEach((name, op) -> assertExact(name + " " + dt, op.apply(CPU), op.apply(ND4J)));
        }
    }
}
