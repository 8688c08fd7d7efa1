package moonlight4j.cpu;

import moonlight4j.api.Shapes;

/** Data movement without arithmetic: permute, slice, concat (reshape is a view, in {@link CpuBackend}). */
final class Layout {

    private Layout() {
    }

    /**
     * {@code out[i_0, ..., i_{r-1}] = x[j]} where output dim d is input dim axes[d]. When the last dim stays last
     * (attention's head/sequence swaps), whole rows are copied at once.
     */
    static void permute(CpuTensor x, int[] axes, CpuTensor out) {
        int[] sx = x.shapeRef(), so = out.shapeRef();
        int r = sx.length;
        int[] stx = Shapes.strides(sx);
        int[] st = new int[r];                                  // input stride of each output dim
        for (int d = 0; d < r; d++) st[d] = stx[axes[d]];
        boolean rows = r > 0 && axes[r - 1] == r - 1;           // copy runs of the (contiguous) last dim
        int run = rows ? so[r - 1] : 1, dims = rows ? r - 1 : r;
        if (run == 0) return;
        int[] idx = new int[r];
        int src = 0;
        for (int o = 0; o < out.n; o += run) {
            if (rows) copyRange(x, src, out, o, run);
            else copy(x, src, out, o);
            for (int d = dims - 1; d >= 0; d--) {
                idx[d]++;
                src += st[d];
                if (idx[d] < so[d]) break;
                src -= st[d] * so[d];
                idx[d] = 0;
            }
        }
    }

    /** Rows of the flattened (outer, axis, inner) view: out = x[:, from:to, :]. */
    static void slice(CpuTensor x, int axis, int from, int to, CpuTensor out) {
        int[] s = x.shapeRef();
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= s[d];
        for (int d = axis + 1; d < s.length; d++) inner *= s[d];
        int len = (to - from) * inner;
        for (int o = 0; o < outer; o++) {
            copyRange(x, (o * s[axis] + from) * inner, out, o * len, len);
        }
    }

    /** out = cat(parts, axis). */
    static void concat(int axis, CpuTensor[] parts, CpuTensor out) {
        int[] so = out.shapeRef();
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= so[d];
        for (int d = axis + 1; d < so.length; d++) inner *= so[d];
        int rowOut = so[axis] * inner;
        int off = 0;
        for (CpuTensor p : parts) {
            int len = p.shapeRef()[axis] * inner;
            for (int o = 0; o < outer; o++) copyRange(p, o * len, out, o * rowOut + off, len);
            off += len;
        }
    }

    /** True when {@code axes} keeps every dimension but swaps the last two (a batched transpose). */
    static boolean swapsLastTwo(int[] axes) {
        int r = axes.length;
        if (r < 2 || axes[r - 2] != r - 1 || axes[r - 1] != r - 2) return false;
        for (int d = 0; d < r - 2; d++) {
            if (axes[d] != d) return false;
        }
        return true;
    }

    /**
     * A contiguous copy of x with its last two dimensions swapped ({@code permute}'s transposes and matmul's
     * transposed b): 32 × 32 blocks, so both sides stay in cache, bands of 32 rows split over the workers.
     */
    static CpuTensor lastTwoSwapped(CpuDataOps owner, Workers workers, CpuTensor x) {
        int r = x.rank();
        int[] axes = new int[r];
        for (int i = 0; i < r; i++) axes[i] = i;
        axes[r - 2] = r - 1;
        axes[r - 1] = r - 2;
        CpuTensor out = CpuTensor.zeros(owner, x.dtype(), Shapes.checkPermute(x, axes));
        int[] s = x.shapeRef();
        int rows = s[r - 2], cols = s[r - 1];
        if (x.l != null || rows * cols == 0) {
            permute(x, axes, out);
            return out;
        }
        int bands = (rows + 31) / 32, batch = x.n / (rows * cols);
        workers.runAll(batch * bands, x.n, task -> {
            int o = task / bands * rows * cols, i0 = task % bands * 32, i1 = Math.min(rows, i0 + 32);
            for (int j0 = 0; j0 < cols; j0 += 32) {
                int j1 = Math.min(cols, j0 + 32);
                for (int i = i0; i < i1; i++) {
                    for (int j = j0; j < j1; j++) {
                        if (x.f != null) out.f[o + j * rows + i] = x.f[o + i * cols + j];
                        else out.d[o + j * rows + i] = x.d[o + i * cols + j];
                    }
                }
            }
        });
        return out;
    }

    /** One element, same dtype, no rounding. */
    static void copy(CpuTensor x, int i, CpuTensor out, int o) {
        if (x.f != null) out.f[o] = x.f[i];
        else if (x.d != null) out.d[o] = x.d[i];
        else out.l[o] = x.l[i];
    }

    static void copyRange(CpuTensor x, int i, CpuTensor out, int o, int len) {
        if (x.f != null) System.arraycopy(x.f, i, out.f, o, len);
        else if (x.d != null) System.arraycopy(x.d, i, out.d, o, len);
        else System.arraycopy(x.l, i, out.l, o, len);
    }
}
