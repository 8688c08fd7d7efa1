package moonlight4j.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Matrix product {@code c_mn = Σ_k a_mk · b_kn} for contiguous row-major {@code a [M,K]}, {@code b [K,N]},
 * {@code c [M,N]}, batched over a leading dimension, cache-blocked and split over threads.
 *
 * <p><b>Deterministic summation.</b> Every c_mn is accumulated by one thread, starting from +0, adding the products
 * in the order k = 0, 1, ..., K−1 with a plain multiply then add (no FMA: Java never contracts {@code a*b + c}).
 * Blocking only changes <em>when</em> each addition happens, never the order, so the result is bit-identical for
 * any block sizes and any thread count, and equal to the naive triple loop. This is the order golden-data/FORMAT.md
 * §3.1 requires to reproduce the release's bf16 Newton–Schulz bits (a product of two bf16 values is exact in fp32).
 *
 * <p><b>Blocking.</b> A task owns a tile of {@value #MB} rows × {@value #NB_F32} columns of c (fp64: {@value #NB_F64};
 * narrower for products too small to give every thread two tiles). It walks k in blocks of {@value #KB}, copies the
 * {@code KB × NB} panel of b (L2-sized) into one array per row, and per row i updates a local copy of the c row
 * segment (L1-sized) four k's at a time: {@code c[j] = c[j] + a0·b0[j] + a1·b1[j] + a2·b2[j] + a3·b3[j]} — Java
 * evaluates this left to right, i.e. in k order, and C2 vectorizes it across j. No processor-specific code.
 *
 * <p><b>Measured</b> ({@code GemmBench}, 2-core AMD EPYC with AVX-512, JDK 17): fp32 1024³ 54 GFLOP/s on one thread,
 * 104 on two; 1024×4096·4096×1024 54 / 108; fp64 about half. The same loop indexing b and c at offsets was 12
 * GFLOP/s per thread: C2 did not vectorize it.
 */
final class Gemm implements AutoCloseable {

    static final int MB = 64;
    static final int KB = 128;
    static final int NB_F32 = 1024;
    static final int NB_F64 = 512;
    /** Products below this many multiply-adds run on the calling thread. */
    static final long PARALLEL_MIN_FLOPS = 1L << 18;

    private final int threads;
    private final ExecutorService pool;

    /** @param threads worker threads (≥ 1); 1 runs everything on the caller. */
    Gemm(int threads) {
        if (threads < 1) throw new IllegalArgumentException("Gemm: threads must be ≥ 1, got " + threads);
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "moonlight-cpu-gemm");
            t.setDaemon(true);
            return t;
        });
    }

    int threads() {
        return threads;
    }

    /**
     * {@code c[b] = a[b] · bm[shared ? 0 : b]} for b in [0, batch): a {@code [batch, M, K]}, bm {@code [K, N]} or
     * {@code [batch, K, N]}, c {@code [batch, M, N]} (overwritten). fp32 accumulation.
     */
    void f32(float[] a, float[] bm, float[] c, int batch, int m, int k, int n, boolean shared) {
        run(batch, m, n, k, NB_F32, (bi, i0, i1, j0, j1) ->
                tileF32(a, bi * m * k, bm, shared ? 0 : bi * k * n, c, bi * m * n, k, n, i0, i1, j0, j1));
    }

    /**
     * The Gram matrices {@code c[b] = a[b]·a[b]ᵀ}: a {@code [batch, M, K]}, at its transpose {@code [batch, K, M]},
     * c {@code [batch, M, M]} (overwritten). Only the tiles that reach the upper triangle are computed, in
     * {@value #GRAM_NB}-column tiles, then the lower triangle is mirrored: {@code c_ji = Σ_k a_jk·a_ik} is the same
     * products (fp32 multiplication commutes exactly) added in the same k order as {@code c_ij}, so every element
     * has the bits of {@link #f32} at about 55–65% of its work.
     */
    void f32Gram(float[] a, float[] at, float[] c, int batch, int m, int k) {
        run(batch, m, m, k, GRAM_NB, (bi, i0, i1, j0, j1) -> {
            if (j1 > i0) tileF32(a, bi * m * k, at, bi * k * m, c, bi * m * m, k, m, i0, i1, j0, j1);
        });
        for (int bi = 0; bi < batch; bi++) {
            int o = bi * m * m;
            for (int i = 1; i < m; i++) {
                for (int j = 0; j < i; j++) c[o + i * m + j] = c[o + j * m + i];
            }
        }
    }

    /** Column tile width of {@link #f32Gram}: narrow enough that most tiles lie wholly on one side of the diagonal. */
    static final int GRAM_NB = 128;

    /** The fp64 twin of {@link #f32}: double accumulation in k order. */
    void f64(double[] a, double[] bm, double[] c, int batch, int m, int k, int n, boolean shared) {
        run(batch, m, n, k, NB_F64, (bi, i0, i1, j0, j1) ->
                tileF64(a, bi * m * k, bm, shared ? 0 : bi * k * n, c, bi * m * n, k, n, i0, i1, j0, j1));
    }

    private interface Tile {
        void compute(int batchIndex, int i0, int i1, int j0, int j1);
    }

    private void run(int batch, int m, int n, int k, int nbMax, Tile tile) {
        long flops = (long) batch * m * n * Math.max(k, 1);
        boolean parallel = pool != null && flops >= PARALLEL_MIN_FLOPS;
        int mb = MB, nb = nbMax;
        // small products: narrower tiles so every thread gets work (tiling never changes the k order of a c_mn)
        while (parallel && (long) batch * tiles(m, mb) * tiles(n, nb) < 2L * threads && (mb > 8 || nb > 64)) {
            if (mb > 8 && (tiles(m, mb) <= tiles(n, nb) || nb <= 64)) mb /= 2;
            else nb /= 2;
        }
        int mTiles = tiles(m, mb), nTiles = tiles(n, nb);
        if (!parallel || (long) batch * mTiles * nTiles == 1) {
            for (int bi = 0; bi < batch; bi++)
                for (int it = 0; it < mTiles; it++)
                    for (int jt = 0; jt < nTiles; jt++)
                        tile.compute(bi, it * mb, Math.min(m, (it + 1) * mb), jt * nb, Math.min(n, (jt + 1) * nb));
            return;
        }
        List<Future<?>> futures = new ArrayList<>();
        for (int bi = 0; bi < batch; bi++) {
            for (int it = 0; it < mTiles; it++) {
                for (int jt = 0; jt < nTiles; jt++) {
                    int b = bi, i0 = it * mb, i1 = Math.min(m, i0 + mb), j0 = jt * nb, j1 = Math.min(n, j0 + nb);
                    futures.add(pool.submit(() -> tile.compute(b, i0, i1, j0, j1)));
                }
            }
        }
        try {
            for (Future<?> f : futures) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("matmul: interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("matmul: worker failed: " + e.getCause(), e.getCause());
        }
    }

    private static int tiles(int size, int block) {
        return (size + block - 1) / block;
    }

    /**
     * c[i0:i1, j0:j1] = a[i0:i1, :] · b[:, j0:j1], k in order. Per k block the panel b[k0:k1, j0:j1] is copied into
     * one small array per row and each c row segment into a local accumulator, so every array in the inner loop is
     * indexed by j alone: C2 can then prove the arrays distinct and aligned and vectorizes the loop (about 4× faster
     * than the same loop on offsets into b and c, measured). The copies change no arithmetic.
     */
    static void tileF32(float[] a, int ao, float[] b, int bo, float[] c, int co, int k, int n,
                        int i0, int i1, int j0, int j1) {
        int w = j1 - j0;
        float[] acc = new float[w];
        float[][] panel = new float[Math.min(KB, k)][w];
        if (k == 0) {
            for (int i = i0; i < i1; i++) System.arraycopy(acc, 0, c, co + i * n + j0, w);
        }
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            for (int p = k0; p < k1; p++) System.arraycopy(b, bo + p * n + j0, panel[p - k0], 0, w);
            for (int i = i0; i < i1; i++) {
                int ai = ao + i * k, ci = co + i * n + j0;
                if (k0 == 0) java.util.Arrays.fill(acc, 0f);
                else System.arraycopy(c, ci, acc, 0, w);
                int p = k0;
                for (; p + 3 < k1; p += 4) {
                    float a0 = a[ai + p], a1 = a[ai + p + 1], a2 = a[ai + p + 2], a3 = a[ai + p + 3];
                    float[] b0 = panel[p - k0], b1 = panel[p - k0 + 1], b2 = panel[p - k0 + 2], b3 = panel[p - k0 + 3];
                    for (int j = 0; j < w; j++) {
                        acc[j] = acc[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
                    }
                }
                for (; p < k1; p++) {
                    float a0 = a[ai + p];
                    float[] b0 = panel[p - k0];
                    for (int j = 0; j < w; j++) acc[j] = acc[j] + a0 * b0[j];
                }
                System.arraycopy(acc, 0, c, ci, w);
            }
        }
    }

    /** The fp64 twin of {@link #tileF32}. */
    static void tileF64(double[] a, int ao, double[] b, int bo, double[] c, int co, int k, int n,
                        int i0, int i1, int j0, int j1) {
        int w = j1 - j0;
        double[] acc = new double[w];
        double[][] panel = new double[Math.min(KB, k)][w];
        if (k == 0) {
            for (int i = i0; i < i1; i++) System.arraycopy(acc, 0, c, co + i * n + j0, w);
        }
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            for (int p = k0; p < k1; p++) System.arraycopy(b, bo + p * n + j0, panel[p - k0], 0, w);
            for (int i = i0; i < i1; i++) {
                int ai = ao + i * k, ci = co + i * n + j0;
                if (k0 == 0) java.util.Arrays.fill(acc, 0d);
                else System.arraycopy(c, ci, acc, 0, w);
                int p = k0;
                for (; p + 3 < k1; p += 4) {
                    double a0 = a[ai + p], a1 = a[ai + p + 1], a2 = a[ai + p + 2], a3 = a[ai + p + 3];
                    double[] b0 = panel[p - k0], b1 = panel[p - k0 + 1], b2 = panel[p - k0 + 2], b3 = panel[p - k0 + 3];
                    for (int j = 0; j < w; j++) {
                        acc[j] = acc[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
                    }
                }
                for (; p < k1; p++) {
                    double a0 = a[ai + p];
                    double[] b0 = panel[p - k0];
                    for (int j = 0; j < w; j++) acc[j] = acc[j] + a0 * b0[j];
                }
                System.arraycopy(acc, 0, c, ci, w);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
