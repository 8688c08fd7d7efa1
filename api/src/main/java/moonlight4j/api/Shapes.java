package moonlight4j.api;

import java.util.Arrays;

/**
 * Shape arithmetic and the argument checks of every op, written once here so that every backend rejects bad
 * input with the same message. Each {@code check*} method returns the op's output shape or throws
 * {@link IllegalArgumentException} naming the op and what was expected.
 */
public final class Shapes {

    private Shapes() {
    }

    /** Product of the dimensions (1 for a scalar); rejects negative dimensions and overflow of a long. */
    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** {@code numel} that must fit a Java array index. */
    public static int numelInt(int... shape) {
        long n = numel(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + str(shape) + " has " + n + " elements, more than one Java array holds");
        }
        return (int) n;
    }

    public static String str(int... shape) {
        return Arrays.toString(shape);
    }

    /** Normalises a possibly negative axis {@code d} for a tensor of rank {@code rank}. */
    public static int axis(String op, int d, int rank) {
        int a = d < 0 ? rank + d : d;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(op + ": axis " + d + " out of range for rank " + rank);
        }
        return a;
    }

    /** Row-major strides of {@code shape}. */
    public static int[] strides(int... shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    // ---------------------------------------------------------------- argument checks, one per op family

    public static void checkData(String op, int length, int... shape) {
        long n = numel(shape);
        if (n != length) {
            throw new IllegalArgumentException(op + ": " + length + " values given for shape " + str(shape)
                    + ", expected " + n);
        }
    }

    public static void checkFloating(String op, Tensor t) {
        if (!t.dtype().isFloating()) {
            throw new IllegalArgumentException(op + ": expected a floating dtype (F32, BF16, F64), got " + t.dtype());
        }
    }

    public static void checkIndex(String op, Tensor t) {
        if (t.dtype() != DType.I64 && t.dtype() != DType.I32) {
            throw new IllegalArgumentException(op + ": expected an index tensor (I64 or I32), got " + t.dtype());
        }
    }

    public static void checkSameDtype(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": dtypes differ: " + a.dtype() + " vs " + b.dtype());
        }
    }

    public static void checkSameShape(String op, Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": shapes differ: " + str(a.shape()) + " vs " + str(b.shape()));
        }
    }

    /** Numpy broadcasting of two shapes (trailing dimensions aligned, size 1 stretches). */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b) + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Binary elementwise op: same floating dtype, broadcastable shapes. */
    public static int[] checkBinary(String op, Tensor a, Tensor b) {
        checkFloating(op, a);
        checkSameDtype(op, a, b);
        return broadcast(op, a.shape(), b.shape());
    }

    /**
     * matmul: a is {@code [M,K]} (or {@code [K,M]} with transA) optionally with a leading batch dim, b likewise
     * {@code [K,N]}/{@code [N,K]}. Batched: both rank 3 with equal batch, or a rank 3 and b rank 2 (b shared).
     */
    public static int[] checkMatmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        String op = "matmul";
        checkFloating(op, a);
        checkSameDtype(op, a, b);
        int[] sa = a.shape(), sb = b.shape();
        if (sa.length < 2 || sa.length > 3 || sb.length < 2 || sb.length > 3 || sb.length > sa.length) {
            throw new IllegalArgumentException(op + ": expected a [B,]M,K and b [B,]K,N (rank 2 or 3, b not of higher rank), got "
                    + str(sa) + " and " + str(sb));
        }
        if (sa.length == 3 && sb.length == 3 && sa[0] != sb[0]) {
            throw new IllegalArgumentException(op + ": batch sizes differ: " + str(sa) + " vs " + str(sb));
        }
        int ra = sa.length - 2, rb = sb.length - 2;
        int m = transA ? sa[ra + 1] : sa[ra];
        int ka = transA ? sa[ra] : sa[ra + 1];
        int kb = transB ? sb[rb + 1] : sb[rb];
        int n = transB ? sb[rb] : sb[rb + 1];
        if (ka != kb) {
            throw new IllegalArgumentException(op + ": inner dimensions differ: a " + str(sa) + (transA ? "ᵀ" : "")
                    + " · b " + str(sb) + (transB ? "ᵀ" : "") + " (" + ka + " vs " + kb + ")");
        }
        return sa.length == 3 ? new int[]{sa[0], m, n} : new int[]{m, n};
    }

    /** Reductions over one axis: returns the shape without that axis. */
    public static int[] checkReduce(String op, Tensor x, int axis) {
        checkFloating(op, x);
        int[] s = x.shape();
        if (s.length == 0) throw new IllegalArgumentException(op + ": cannot reduce a scalar over an axis");
        int a = axis(op, axis, s.length);
        int[] out = new int[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != a) out[j++] = s[i];
        return out;
    }

    /** rmsNorm: x {@code [..., C]}, w {@code [C]}, same dtype. */
    public static int[] checkRmsNorm(Tensor x, Tensor w) {
        String op = "rmsNorm";
        checkFloating(op, x);
        checkSameDtype(op, x, w);
        if (x.rank() < 1 || w.rank() != 1 || w.dim(0) != x.dim(-1)) {
            throw new IllegalArgumentException(op + ": expected x [..., C] and weight [C], got " + str(x.shape())
                    + " and " + str(w.shape()));
        }
        return x.shape();
    }

    /** rope: x {@code [B, H, S, D]} with even D, positionIds {@code [B, S]}. */
    public static int[] checkRope(Tensor x, Tensor positionIds) {
        String op = "rope";
        checkFloating(op, x);
        checkIndex(op, positionIds);
        int[] s = x.shape();
        if (s.length != 4 || s[3] % 2 != 0) {
            throw new IllegalArgumentException(op + ": expected x [B, H, S, D] with even D, got " + str(s));
        }
        int[] p = positionIds.shape();
        if (p.length != 2 || p[0] != s[0] || p[1] != s[2]) {
            throw new IllegalArgumentException(op + ": expected position ids [" + s[0] + ", " + s[2] + "], got " + str(p));
        }
        return s;
    }

    /** embedding: table {@code [V, C]}, ids any shape → {@code [...ids, C]}. */
    public static int[] checkEmbedding(Tensor table, Tensor ids) {
        String op = "embedding";
        checkFloating(op, table);
        checkIndex(op, ids);
        if (table.rank() != 2) {
            throw new IllegalArgumentException(op + ": expected a table [V, C], got " + str(table.shape()));
        }
        int[] is = ids.shape();
        int[] out = Arrays.copyOf(is, is.length + 1);
        out[is.length] = table.dim(1);
        return out;
    }

    /** Throws when an id is outside {@code [0, size)}; {@code what} names the thing indexed. */
    public static void checkIdRange(String op, String what, long id, int size) {
        if (id < 0 || id >= size) {
            throw new IllegalArgumentException(op + ": index " + id + " outside " + what + " [0, " + size + ")");
        }
    }

    /** topk over the last axis. */
    public static int[] checkTopk(Tensor x, int k) {
        String op = "topk";
        checkFloating(op, x);
        if (x.rank() < 1 || k < 1 || k > x.dim(-1)) {
            throw new IllegalArgumentException(op + ": k = " + k + " must be in [1, " + (x.rank() < 1 ? 0 : x.dim(-1))
                    + "] for shape " + str(x.shape()));
        }
        int[] out = x.shape();
        out[out.length - 1] = k;
        return out;
    }

    /** embeddingBackward: dy {@code [...ids, C]}, ids {@code [...ids]}, vocab ≥ 0 → {@code [vocab, C]}. */
    public static int[] checkEmbeddingBackward(Tensor dy, Tensor ids, int vocab) {
        String op = "embeddingBackward";
        checkFloating(op, dy);
        checkIndex(op, ids);
        int[] sd = dy.shape(), si = ids.shape();
        if (sd.length != si.length + 1 || !Arrays.equals(Arrays.copyOf(sd, si.length), si) || vocab < 0) {
            throw new IllegalArgumentException(op + ": expected dy [...ids, C] for ids " + str(si)
                    + " and vocab ≥ 0, got dy " + str(sd) + " and vocab " + vocab);
        }
        return new int[]{vocab, sd[sd.length - 1]};
    }

    /** scatterAddLastDim: dy and idx {@code [..., k]} of one shape, size ≥ 0 → {@code [..., size]}. */
    public static int[] checkScatterAddLastDim(Tensor dy, Tensor idx, int size) {
        String op = "scatterAddLastDim";
        checkFloating(op, dy);
        checkIndex(op, idx);
        if (dy.rank() < 1 || !Arrays.equals(dy.shape(), idx.shape()) || size < 0) {
            throw new IllegalArgumentException(op + ": expected dy [..., k] and idx of the same shape and size ≥ 0, got "
                    + str(dy.shape()) + ", " + str(idx.shape()) + " and size " + size);
        }
        int[] shape = dy.shape();
        shape[shape.length - 1] = size;
        return shape;
    }

    /** gatherRows: x {@code [N, C]}, idx {@code [M]} → {@code [M, C]}. */
    public static int[] checkGatherRows(Tensor x, Tensor idx) {
        String op = "gatherRows";
        checkFloating(op, x);
        checkIndex(op, idx);
        if (x.rank() != 2 || idx.rank() != 1) {
            throw new IllegalArgumentException(op + ": expected x [N, C] and idx [M], got " + str(x.shape()) + " and "
                    + str(idx.shape()));
        }
        return new int[]{idx.dim(0), x.dim(1)};
    }

    /** indexAddInPlace: target {@code [N, C]}, idx {@code [M]}, src {@code [M, C]}. */
    public static void checkIndexAdd(Tensor target, Tensor idx, Tensor src) {
        String op = "indexAddInPlace";
        checkFloating(op, target);
        checkSameDtype(op, target, src);
        checkIndex(op, idx);
        if (target.rank() != 2 || idx.rank() != 1 || src.rank() != 2 || src.dim(0) != idx.dim(0)
                || src.dim(1) != target.dim(1)) {
            throw new IllegalArgumentException(op + ": expected target [N, C], idx [M], src [M, C], got "
                    + str(target.shape()) + ", " + str(idx.shape()) + ", " + str(src.shape()));
        }
    }

    /** gatherLastDim: x {@code [..., E]}, idx {@code [..., k]} with equal leading dims → {@code [..., k]}. */
    public static int[] checkGatherLastDim(Tensor x, Tensor idx) {
        String op = "gatherLastDim";
        checkFloating(op, x);
        checkIndex(op, idx);
        int[] sx = x.shape(), si = idx.shape();
        if (sx.length < 1 || sx.length != si.length
                || !Arrays.equals(Arrays.copyOf(sx, sx.length - 1), Arrays.copyOf(si, si.length - 1))) {
            throw new IllegalArgumentException(op + ": expected x [..., E] and idx [..., k] with equal leading dims, got "
                    + str(sx) + " and " + str(si));
        }
        return si;
    }

    /** crossEntropy: logits {@code [N, V]}, targets {@code [N]}. */
    public static void checkCrossEntropy(Tensor logits, Tensor targets) {
        String op = "crossEntropy";
        checkFloating(op, logits);
        checkIndex(op, targets);
        if (logits.rank() != 2 || targets.rank() != 1 || targets.dim(0) != logits.dim(0)) {
            throw new IllegalArgumentException(op + ": expected logits [N, V] and targets [N], got "
                    + str(logits.shape()) + " and " + str(targets.shape()));
        }
    }

    /** slice along {@code axis}: {@code 0 <= from <= to <= size}. */
    public static int[] checkSlice(Tensor x, int axis, int from, int to) {
        int a = axis("slice", axis, x.rank());
        int[] s = x.shape();
        if (from < 0 || to < from || to > s[a]) {
            throw new IllegalArgumentException("slice: range [" + from + ", " + to + ") outside axis " + axis
                    + " of size " + s[a]);
        }
        s[a] = to - from;
        return s;
    }

    /** concat along {@code axis}: same dtype, equal other dims. */
    public static int[] checkConcat(int axis, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("concat: no tensors given");
        int[] s = parts[0].shape();
        int a = axis("concat", axis, s.length);
        int total = 0;
        for (Tensor p : parts) {
            checkSameDtype("concat", parts[0], p);
            int[] sp = p.shape();
            boolean ok = sp.length == s.length;
            for (int i = 0; ok && i < s.length; i++) ok = i == a || sp[i] == s[i];
            if (!ok) {
                throw new IllegalArgumentException("concat: shapes " + str(s) + " and " + str(sp)
                        + " differ outside axis " + axis);
            }
            total += sp[a];
        }
        s[a] = total;
        return s;
    }

    /** permute: {@code axes} is a permutation of {@code 0..rank-1}; output dim i = input dim axes[i]. */
    public static int[] checkPermute(Tensor x, int... axes) {
        int[] s = x.shape();
        boolean[] seen = new boolean[s.length];
        boolean ok = axes.length == s.length;
        for (int i = 0; ok && i < axes.length; i++) {
            ok = axes[i] >= 0 && axes[i] < s.length && !seen[axes[i]];
            if (ok) seen[axes[i]] = true;
        }
        if (!ok) {
            throw new IllegalArgumentException("permute: " + Arrays.toString(axes) + " is not a permutation of the axes of "
                    + str(s));
        }
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) out[i] = s[axes[i]];
        return out;
    }

    /** reshape: same element count; at most one {@code -1} is inferred. */
    public static int[] checkReshape(Tensor x, int... shape) {
        long n = x.numel();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1 && infer < 0) infer = i;
            else if (shape[i] < 0) throw new IllegalArgumentException("reshape: bad target shape " + str(shape));
            else known *= shape[i];
        }
        int[] out = shape.clone();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("reshape: cannot infer -1 in " + str(shape) + " for " + n + " elements");
            }
            out[infer] = (int) (n / known);
        }
        if (numel(out) != n) {
            throw new IllegalArgumentException("reshape: " + str(x.shape()) + " (" + n + " elements) cannot become "
                    + str(shape));
        }
        return out;
    }

    /** In-place update of {@code dst} from {@code src} of the same shape; both floating (dtypes may differ). */
    public static void checkInPlace(String op, Tensor dst, Tensor src) {
        checkFloating(op, dst);
        checkFloating(op, src);
        checkSameShape(op, dst, src);
    }

    /** Collective reduceScatter: {@code send.length == worldSize · recv.length}. */
    public static void checkReduceScatter(int worldSize, int send, int recv) {
        if ((long) recv * worldSize != send) {
            throw new IllegalArgumentException("reduceScatter: send length " + send + " must be worldSize " + worldSize
                    + " × recv length " + recv);
        }
    }

    /** Collective allGather: {@code recv.length == worldSize · send.length}. */
    public static void checkAllGather(int worldSize, int send, int recv) {
        if ((long) send * worldSize != recv) {
            throw new IllegalArgumentException("allGather: recv length " + recv + " must be worldSize " + worldSize
                    + " × send length " + send);
        }
    }
}
