package moonlight4j.nd4j;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code c = op(a)·op(b)} by BLAS gemm (sgemm for F32 and BF16, dgemm for F64). BF16 operands are bf16-exact floats,
 * so every product is exact in fp32; sgemm accumulates in fp32 (blocked, FMA) and the result is rounded once.
 * Batched: one gemm per batch entry, written straight into the result.
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
            if (out.length == 2) {
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

    /** {@code c ← op(a)·op(b)}; an empty inner dimension leaves c zero. */
    private static void gemm(INDArray a, INDArray b, INDArray c, boolean transA, boolean transB) {
        if (a.length() == 0) return;
        Nd4j.gemm(a, b, c, transA, transB, 1.0, 0.0);
    }
}
