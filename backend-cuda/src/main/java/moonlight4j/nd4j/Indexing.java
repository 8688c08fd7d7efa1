package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.api.TopK;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Index-driven ops. Ids are read to the host once (to check their range and to drive the loop); row gathers use
 * ND4J's {@code pullRows}, row scatters update ND4J row views in index order; the per-element ops on the last axis
 * ({@code gatherLastDim}, {@code scatterAddLastDim}, {@code topk}) run on host copies.
 * Scatter-adds run in index order and round every addition to the dtype, as PyTorch's {@code index_add_} (for
 * BF16 each row update is rounded to bf16; a double sum of two floats rounded to float is the fp32 sum, since
 * 53 ≥ 2·24 + 2).
 */
final class Indexing {

    private Indexing() {
    }

    /** Ids as ints after checking each is in {@code [0, size)}. */
    private static int[] ids(Nd4jDataOps be, String op, String what, Tensor ids, int size) {
        long[] l = HostArrays.longValues(be.arr(ids));
        int[] r = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            Shapes.checkIdRange(op, what, l[i], size);
            r[i] = (int) l[i];
        }
        return r;
    }

    /** {@code y[i, :] = x[rows[i], :]}, fresh {@code [rows.length, C]}. */
    private static INDArray pull(INDArray x, int[] rows) {
        if (rows.length == 0) return Nd4j.create(x.dataType(), 0, x.size(1));
        if (!HostBits.applies(x)) return Nd4j.pullRows(x, 1, rows, 'c');
        int c = (int) x.size(1);                            // host memory: one bulk copy per row
        INDArray y = NativeMemory.uninitialized(x.dataType(), rows.length, c);
        FloatBuffer xb = floats(x), yb = floats(y);
        float[] row = new float[c];
        for (int i = 0; i < rows.length; i++) {
            xb.get(rows[i] * c, row);
            yb.put(i * c, row);
        }
        return y;
    }

    /** The native memory of a dense FLOAT array ({@link HostBits#applies}) as floats. */
    private static FloatBuffer floats(INDArray a) {
        return a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    static Tensor embedding(Nd4jDataOps be, Tensor table, Tensor ids) {
        int[] out = Shapes.checkEmbedding(table, ids);
        int[] rows = ids(be, "embedding", "vocabulary", ids, table.dim(0));
        return be.finish(pull(be.arr(table), rows), table.dtype(), out);
    }

    /** Rows of dy added into a zero {@code [vocab, C]} in index order, each addition rounded to the dtype. */
    static Tensor embeddingBackward(Nd4jDataOps be, Tensor dy, Tensor ids, int vocab) {
        int c = Shapes.checkEmbeddingBackward(dy, ids, vocab)[1];
        int[] rows = ids(be, "embeddingBackward", "vocabulary", ids, vocab);
        INDArray out = NativeMemory.zeros(be.arr(dy).dataType(), vocab, c);
        if (HostOps.addRows(out, rows, be.arr(dy), c, dy.dtype() == DType.BF16)) {
            return be.wrap(out, dy.dtype(), new int[]{vocab, c});
        }
        INDArray dy2 = be.arr(dy).reshape('c', rows.length, c);
        addRows(out, rows, dy2, dy.dtype() == DType.BF16);
        return be.wrap(out, dy.dtype(), new int[]{vocab, c});
    }

    static Tensor gatherRows(Nd4jDataOps be, Tensor x, Tensor idx) {
        int[] out = Shapes.checkGatherRows(x, idx);
        int[] rows = ids(be, "gatherRows", "rows of x", idx, x.dim(0));
        return be.finish(pull(be.arr(x), rows), x.dtype(), out);
    }

    /** {@code target[idx[m]] += src[m]} for m in order; a BF16 target is rounded after each row update. */
    static void indexAddInPlace(Nd4jDataOps be, Tensor target, Tensor idx, Tensor src) {
        Shapes.checkIndexAdd(target, idx, src);
        int[] rows = ids(be, "indexAddInPlace", "rows of target", idx, target.dim(0));
        int c = target.dim(1);
        if (HostOps.addRows(be.arr(target), rows, be.arr(src), c, target.dtype() == DType.BF16)) return;
        addRows(be.arr(target), rows, be.arr(src), target.dtype() == DType.BF16);
    }

    /** {@code t[rows[m], :] += s[m, :]} for m in order, each row rounded to bf16 after its update when asked. */
    private static void addRows(INDArray t, int[] rows, INDArray s, boolean bf16) {
        for (int m = 0; m < rows.length; m++) {
            INDArray row = t.getRow(rows[m]);
            row.addi(s.getRow(m));
            if (bf16) Bf16Arrays.roundInPlace(row);
        }
    }

    /** {@code y[..., j] = x[..., idx[..., j]]} on host copies. */
    static Tensor gatherLastDim(Nd4jDataOps be, Tensor x, Tensor idx) {
        int[] out = Shapes.checkGatherLastDim(x, idx);
        int e = x.dim(-1), k = idx.dim(-1);
        double[] xv = HostArrays.doubles(be.arr(x));
        int[] iv = ids(be, "gatherLastDim", "last dim of x", idx, e);
        double[] y = new double[iv.length];
        for (int r = 0, n = iv.length / Math.max(k, 1); r < n; r++) {
            for (int j = 0; j < k; j++) y[r * k + j] = xv[r * e + iv[r * k + j]];
        }
        return be.finish(host(y, out, x.dtype()), x.dtype(), out);
    }

    /** A zero {@code [..., size]} with {@code dy[..., j]} added at {@code idx[..., j]}, j in order. */
    static Tensor scatterAddLastDim(Nd4jDataOps be, Tensor dy, Tensor idx, int size) {
        String op = "scatterAddLastDim";
        int[] out = Shapes.checkScatterAddLastDim(dy, idx, size);
        int k = dy.dim(-1);
        double[] g = HostArrays.doubles(be.arr(dy));
        int[] iv = ids(be, op, "output last dim", idx, size);
        DType d = dy.dtype();
        double[] y = new double[Shapes.numelInt(out)];
        for (int r = 0, n = iv.length / Math.max(k, 1); r < n; r++) {
            for (int j = 0; j < k; j++) {
                int at = r * size + iv[r * k + j];
                double s = y[at] + g[r * k + j];
                y[at] = d == DType.F64 ? s : d == DType.F32 ? (float) s : Bf16.round((float) s);
            }
        }
        return be.wrap(host(y, out, d), d, out);
    }

    /** The k largest of the last axis, descending; ties keep the lower index first; NaN ranks above every number. */
    static TopK topk(Nd4jDataOps be, Tensor x, int k) {
        int[] out = Shapes.checkTopk(x, k);
        int e = x.dim(-1);
        double[] xv = HostArrays.doubles(be.arr(x));
        int rows = xv.length / e;
        double[] vals = new double[rows * k];
        long[] idx = new long[rows * k];
        Integer[] order = new Integer[e];
        for (int r = 0; r < rows; r++) {
            int base = r * e;
            for (int j = 0; j < e; j++) order[j] = j;
            Arrays.sort(order, (p, q) -> compareDescending(xv[base + p], xv[base + q]));   // stable: ties by index
            for (int j = 0; j < k; j++) {
                vals[r * k + j] = xv[base + order[j]];
                idx[r * k + j] = order[j];
            }
        }
        Tensor v = be.finish(host(vals, out, x.dtype()), x.dtype(), out);
        Tensor i = be.wrap(HostArrays.create(idx, HostArrays.longs(out)), DType.I64, out);
        return new TopK(v, i);
    }

    /** Negative when a ranks before b: larger first, NaN first, equal values (also −0 and +0) tie. */
    private static int compareDescending(double a, double b) {
        boolean na = Double.isNaN(a), nb = Double.isNaN(b);
        if (na || nb) return na == nb ? 0 : na ? -1 : 1;
        return a > b ? -1 : a < b ? 1 : 0;
    }

    /** A fresh array in d's storage type from host values (exact for F32/BF16 values held as doubles). */
    private static INDArray host(double[] v, int[] shape, DType d) {
        INDArray a = HostArrays.create(v, HostArrays.longs(shape));
        if (d == DType.F64) return a;
        INDArray f = a.castTo(HostArrays.storage(d));
        a.close();
        return f;
    }
}
