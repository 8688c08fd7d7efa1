package moonlight4j.cpu;

import moonlight4j.api.Shapes;

import java.util.Arrays;

/**
 * Gathers, scatters and top-k. Every index is range-checked with {@link Shapes#checkIdRange} (the message names
 * the op and the id). Scatter-adds run in index order, each addition rounded to the dtype as PyTorch's
 * {@code index_add_} does.
 */
final class IndexKernels {

    private IndexKernels() {
    }

    /** {@code y[n, :] = table[ids[n], :]}: table (V, C), ids (N) flattened, y (N, C). */
    static void embedding(CpuTensor table, CpuTensor ids, CpuTensor y) {
        int v = table.shapeRef()[0], c = table.shapeRef()[1];
        for (int n = 0; n < ids.n; n++) {
            long id = ids.l[n];
            Shapes.checkIdRange("embedding", "vocabulary", id, v);
            Layout.copyRange(table, (int) id * c, y, n * c, c);
        }
    }

    /** {@code dtable[ids[n], :] += dy[n, :]} for n in order: dy (N, C), dtable (V, C) zero-initialised. */
    static void embeddingBackward(CpuTensor dy, CpuTensor ids, CpuTensor dtable) {
        int v = dtable.shapeRef()[0], c = dtable.shapeRef()[1];
        for (int n = 0; n < ids.n; n++) {
            long id = ids.l[n];
            Shapes.checkIdRange("embeddingBackward", "vocabulary", id, v);
            addRow(dtable, (int) id * c, dy, n * c, c);
        }
    }

    /** {@code y[m, :] = x[idx[m], :]}: x (N, C), idx (M), y (M, C). */
    static void gatherRows(CpuTensor x, CpuTensor idx, CpuTensor y) {
        int rows = x.shapeRef()[0], c = x.shapeRef()[1];
        for (int m = 0; m < idx.n; m++) {
            long id = idx.l[m];
            Shapes.checkIdRange("gatherRows", "rows of x", id, rows);
            Layout.copyRange(x, (int) id * c, y, m * c, c);
        }
    }

    /** {@code target[idx[m], :] += src[m, :]}, m in order: target (N, C), idx (M), src (M, C). */
    static void indexAdd(CpuTensor target, CpuTensor idx, CpuTensor src) {
        int rows = target.shapeRef()[0], c = target.shapeRef()[1];
        for (int m = 0; m < idx.n; m++) Shapes.checkIdRange("indexAddInPlace", "rows of target", idx.l[m], rows);
        for (int m = 0; m < idx.n; m++) addRow(target, (int) idx.l[m] * c, src, m * c, c);
    }

    /** {@code y[r, j] = x[r, idx[r, j]]}: x (R, E), idx (R, k), y (R, k). */
    static void gatherLastDim(CpuTensor x, CpuTensor idx, CpuTensor y) {
        int e = x.shapeRef()[x.rank() - 1], k = idx.shapeRef()[idx.rank() - 1];
        for (int r = 0; r * k < idx.n; r++) {
            for (int j = 0; j < k; j++) {
                long id = idx.l[r * k + j];
                Shapes.checkIdRange("gatherLastDim", "last dim of x", id, e);
                Layout.copy(x, r * e + (int) id, y, r * k + j);
            }
        }
    }

    /** {@code out[r, idx[r, j]] += dy[r, j]}: dy, idx (R, k), out (R, size) zero-initialised. */
    static void scatterAddLastDim(CpuTensor dy, CpuTensor idx, CpuTensor out, int size) {
        int k = idx.rank() == 0 ? 1 : idx.shapeRef()[idx.rank() - 1];
        for (int r = 0; r * k < idx.n; r++) {
            for (int j = 0; j < k; j++) {
                long id = idx.l[r * k + j];
                Shapes.checkIdRange("scatterAddLastDim", "output last dim", id, size);
                int o = r * size + (int) id;
                out.put(o, out.at(o) + dy.at(r * k + j));
            }
        }
    }

    /**
     * Top-k of each row of x (R, E): values descending, ties (equal values, including −0 vs +0) to the lower
     * index first, NaN ranked above every number (as PyTorch). values (R, k) in x's dtype, indices (R, k) I64.
     */
    static void topk(CpuTensor x, int k, CpuTensor values, CpuTensor indices) {
        int e = x.shapeRef()[x.rank() - 1];
        Integer[] order = new Integer[e];
        for (int r = 0; r * e < x.n; r++) {
            int base = r * e;
            for (int j = 0; j < e; j++) order[j] = j;
            Arrays.sort(order, (p, q) -> compareDescending(x.at(base + p), x.at(base + q)));   // stable: ties keep index order
            for (int j = 0; j < k; j++) {
                Layout.copy(x, base + order[j], values, r * k + j);
                indices.l[r * k + j] = order[j];
            }
        }
    }

    /** Negative when a ranks before b: larger first, NaN first, equal values tie (0). */
    static int compareDescending(double a, double b) {
        boolean na = Double.isNaN(a), nb = Double.isNaN(b);
        if (na || nb) return na == nb ? 0 : na ? -1 : 1;
        return a > b ? -1 : a < b ? 1 : 0;
    }

    /**
     * {@code dst[o : o+c] += src[s : s+c]}, each sum rounded to dst's dtype. Float storage of one dtype adds in float
     * (the double sum rounded once, {@link Precision}), BF16 then rounds that float as {@code put} does.
     */
    private static void addRow(CpuTensor dst, int o, CpuTensor src, int s, int c) {
        if (dst.f != null && src.f != null && dst.dtype() == src.dtype()) {
            float[] d = dst.f, x = src.f;
            for (int j = 0; j < c; j++) d[o + j] = d[o + j] + x[s + j];
            if (dst.dtype() == moonlight4j.api.DType.BF16) FloatLoops.roundBf16InPlace(d, o, o + c);
            return;
        }
        for (int j = 0; j < c; j++) dst.put(o + j, dst.at(o + j) + src.at(s + j));
    }
}
