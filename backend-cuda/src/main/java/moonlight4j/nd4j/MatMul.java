package moonlight4j.nd4j;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.api.DType;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/**
 * {@code c = op(a)·op(b)} by BLAS gemm (sgemm for F32 and BF16, dgemm for F64). BF16 operands are bf16-exact floats,
 * so every product is exact in fp32; sgemm accumulates in fp32 (blocked, FMA) and the result is rounded once.
 * Batched: one gemm per batch entry, written straight into the result.
 *
 * <p>{@code X·Yᵀ} with Y equal to X (Newton–Schulz's {@code A = X·Xᵀ}) is symmetric: on nd4j-native it is one syrk
 * per batch entry (ssyrk/dsyrk, half the multiply-adds of a gemm) computing the upper triangle, mirrored to the
 * lower one and, for BF16, rounded in the same pass. syrk and gemm sum in different orders, so the choice is made
 * on the operands' values, not their identity: the same tensor, or another one holding the same bits (one compare
 * of the two buffers, which stops at the first difference), gets the syrk result.
 */
final class MatMul {

    private MatMul() {
    }

    static Tensor matmul(Nd4jDataOps be, Tensor a, Tensor b, boolean transA, boolean transB) {
        int[] out = Shapes.checkMatmul(a, b, transA, transB);
        INDArray A = be.arr(a), B = be.arr(b);
        int k = transA ? a.dim(-2) : a.dim(-1);
        long[] cs = HostArrays.longs(out);                            // every element is written unless K = 0
        INDArray C = k == 0 ? Nd4j.create(A.dataType(), cs, 'c') : NativeMemory.uninitialized(A.dataType(), cs);
        if (Shapes.numel(out) > 0) {
            if (!transA && transB && k > 0 && java.util.Arrays.equals(a.shape(), b.shape())
                    && HostKernels.applies(A, B, C) && (a == b || sameBits(A, B))) {
                gram(A, C, out.length == 2 ? 1 : out[0], out[out.length - 1], k, a.dtype() == DType.BF16);
                return be.wrap(C, a.dtype(), out);
            }
            if (HostKernels.applies(A, B, C)) {
                int batch = out.length == 2 ? 1 : out[0];
                boolean roundEach = a.dtype() == DType.BF16 && HostKernels.VECTOR;
                gemm(A, B, C, batch, b.rank() == 3, out[out.length - 2], out[out.length - 1], k, transA, transB, roundEach);
                if (roundEach) return be.wrap(C, a.dtype(), out);
            } else if (out.length == 2) {
                gemm(A, B, C, transA, transB);
            } else {
                for (int i = 0; i < out[0]; i++) {
                    INDArray bi = B.rank() == 3 ? B.slice(i) : B;
                    gemm(A.slice(i), bi, C.slice(i), transA, transB);
                }
            }
        }
        return be.finish(C, a.dtype(), out);
    }

    /**
     * {@code C_i = X_i·X_iᵀ} for each of the {@code batch} {@code [m, k]} matrices of the dense array x into the
     * dense {@code [batch,] m, m} array c: BLAS syrk (row major, upper triangle, fp32 accumulation for FLOAT),
     * then each row's lower part copied from the upper triangle's column, rounded to bf16 when {@code bf16}.
     */
    private static void gram(INDArray x, INDArray c, int batch, int m, int k, boolean bf16) {
        int rm = openblas_nolapack.CblasRowMajor, up = openblas_nolapack.CblasUpper, nt = openblas_nolapack.CblasNoTrans;
        boolean fp32 = x.dataType() == DataType.FLOAT;
        var cBytes = c.data().asNio().order(ByteOrder.nativeOrder());
        for (int i = 0; i < batch; i++) {
            long xOff = (long) i * m * k, cOff = (long) i * m * m;
            if (fp32) {
                FloatPointer xp = new FloatPointer(x.data().addressPointer()).position(xOff);
                FloatPointer cp = new FloatPointer(c.data().addressPointer()).position(cOff);
                openblas_nolapack.cblas_ssyrk(rm, up, nt, m, k, 1.0f, xp, k, 0.0f, cp, m);
                mirror(cBytes.asFloatBuffer(), Math.toIntExact(cOff), m, bf16);
            } else {
                DoublePointer xp = new DoublePointer(x.data().addressPointer()).position(xOff);
                DoublePointer cp = new DoublePointer(c.data().addressPointer()).position(cOff);
                openblas_nolapack.cblas_dsyrk(rm, up, nt, m, k, 1.0, xp, k, 0.0, cp, m);
                mirror(cBytes.asDoubleBuffer(), Math.toIntExact(cOff), m);
            }
        }
    }

    /**
     * True when the two dense arrays (of one length) hold the same bytes. Only the arrays' own bytes are compared:
     * a pooled buffer's native memory may run on past its result.
     */
    private static boolean sameBits(INDArray x, INDArray y) {
        if (x.dataType() != y.dataType()) return false;
        int bytes = Math.toIntExact(x.length() * x.dataType().width());
        return x.data().asNio().limit(bytes).mismatch(y.data().asNio().limit(bytes)) == -1;
    }

    /** The {@code m×m} matrix at {@code off}: {@code c[j][i] = c[i][j]} below the diagonal, then bf16 rounding. */
    private static void mirror(FloatBuffer c, int off, int m, boolean bf16) {
        float[] s = new float[m * m];
        c.get(off, s, 0, s.length);
        for (int j = 1; j < m; j++) {
            for (int i = 0; i < j; i++) s[j * m + i] = s[i * m + j];
        }
        if (bf16) HostKernels.roundBf16(s, s.length);
        c.put(off, s, 0, s.length);
    }

    private static void mirror(DoubleBuffer c, int off, int m) {
        double[] s = new double[m * m];
        c.get(off, s, 0, s.length);
        for (int j = 1; j < m; j++) {
            for (int i = 0; i < j; i++) s[j * m + i] = s[i * m + j];
        }
        c.put(off, s, 0, s.length);
    }

    /**
     * {@code C_i = op(A_i)·op(B_i)} for dense row-major arrays, straight through BLAS sgemm/dgemm with the transposes
     * as flags and each batch entry at a pointer offset, instead of one ND4J mmul op (and, for a stack, a view per
     * entry) per product. {@code bBatched} false: one B for every batch entry. {@code bf16}: each FLOAT entry rounded
     * to bf16 right after sgemm writes it, while it is still in cache ({@link HostKernels#roundBf16}).
     */
    private static void gemm(INDArray a, INDArray b, INDArray c, int batch, boolean bBatched, int m, int n, int k,
                             boolean transA, boolean transB, boolean bf16) {
        int rm = openblas_nolapack.CblasRowMajor;
        int ta = transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int tb = transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int lda = transA ? m : k, ldb = transB ? k : n;
        long aStep = (long) m * k, bStep = bBatched ? (long) k * n : 0, cStep = (long) m * n;
        if (a.dataType() == DataType.FLOAT) {
            FloatPointer ap = new FloatPointer(a.data().addressPointer()), bp = new FloatPointer(b.data().addressPointer());
            FloatPointer cp = new FloatPointer(c.data().addressPointer());
            FloatBuffer cf = bf16 ? c.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer() : null;
            for (int i = 0; i < batch; i++) {
                openblas_nolapack.cblas_sgemm(rm, ta, tb, m, n, k, 1.0f, ap.position(i * aStep), lda,
                        bp.position(i * bStep), ldb, 0.0f, cp.position(i * cStep), n);
                if (bf16) HostKernels.roundBf16(cf, Math.toIntExact(i * cStep), Math.toIntExact(cStep));
            }
        } else {
            DoublePointer ap = new DoublePointer(a.data().addressPointer()), bp = new DoublePointer(b.data().addressPointer());
            DoublePointer cp = new DoublePointer(c.data().addressPointer());
            for (int i = 0; i < batch; i++) {
                openblas_nolapack.cblas_dgemm(rm, ta, tb, m, n, k, 1.0, ap.position(i * aStep), lda,
                        bp.position(i * bStep), ldb, 0.0, cp.position(i * cStep), n);
            }
        }
    }

    /** {@code c ← op(a)·op(b)} through ND4J (views, CUDA); an empty inner dimension leaves c zero. */
    private static void gemm(INDArray a, INDArray b, INDArray c, boolean transA, boolean transB) {
        if (a.length() == 0) return;
        Nd4j.gemm(a, b, c, transA, transB, 1.0, 0.0);
    }
}
