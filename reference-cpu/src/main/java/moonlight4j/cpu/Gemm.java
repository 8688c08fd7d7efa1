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
 * <p><b>Blocking.</b> A task owns a tile of {@value #MB} rows × {@value #NB_F32} columns of c (per batch). It walks
 * k in blocks of {@value #KB} (so the {@code KB × NB} panel of b stays in L2) and, per row i, updates the row
 * segment of c (in L1) four k's at a time: {@code c[j] = c[j] + a0·b0[j] + a1·b1[j] + a2·b2[j] + a3·b3[j]} —
 * Java evaluates this left to right, i.e. in k order, and C2 vectorizes it across j. No processor-specific code.
 */
final class Gemm implements AutoCloseable {

    static final int MB = 64;
    static final int KB = 128;
    static final int NB_F32 = 512;
    static final int NB_F64 = 256;
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

    /** The fp64 twin of {@link #f32}: double accumulation in k order. */
    void f64(double[] a, double[] bm, double[] c, int batch, int m, int k, int n, boolean shared) {
        run(batch, m, n, k, NB_F64, (bi, i0, i1, j0, j1) ->
                tileF64(a, bi * m * k, bm, shared ? 0 : bi * k * n, c, bi * m * n, k, n, i0, i1, j0, j1));
    }

    private interface Tile {
        void compute(int batchIndex, int i0, int i1, int j0, int j1);
    }

    private void run(int batch, int m, int n, int k, int nb, Tile tile) {
        int mTiles = (m + MB - 1) / MB, nTiles = (n + nb - 1) / nb;
        long flops = (long) batch * m * n * Math.max(k, 1);
        if (pool == null || flops < PARALLEL_MIN_FLOPS || (long) batch * mTiles * nTiles == 1) {
            for (int bi = 0; bi < batch; bi++)
                for (int it = 0; it < mTiles; it++)
                    for (int jt = 0; jt < nTiles; jt++)
                        tile.compute(bi, it * MB, Math.min(m, (it + 1) * MB), jt * nb, Math.min(n, (jt + 1) * nb));
            return;
        }
        List<Future<?>> futures = new ArrayList<>();
        for (int bi = 0; bi < batch; bi++) {
            for (int it = 0; it < mTiles; it++) {
                for (int jt = 0; jt < nTiles; jt++) {
                    int b = bi, i0 = it * MB, i1 = Math.min(m, i0 + MB), j0 = jt * nb, j1 = Math.min(n, j0 + nb);
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

    /** c[i0:i1, j0:j1] = a[i0:i1, :] · b[:, j0:j1], k in order. */
    static void tileF32(float[] a, int ao, float[] b, int bo, float[] c, int co, int k, int n,
                        int i0, int i1, int j0, int j1) {
        for (int i = i0; i < i1; i++) {
            int ci = co + i * n;
            for (int j = j0; j < j1; j++) c[ci + j] = 0f;
        }
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            for (int i = i0; i < i1; i++) {
                int ai = ao + i * k, ci = co + i * n;
                int p = k0;
                for (; p + 3 < k1; p += 4) {
                    float a0 = a[ai + p], a1 = a[ai + p + 1], a2 = a[ai + p + 2], a3 = a[ai + p + 3];
                    int b0 = bo + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
                    for (int j = j0; j < j1; j++) {
                        c[ci + j] = c[ci + j] + a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
                    }
                }
                for (; p < k1; p++) {
                    float a0 = a[ai + p];
                    int b0 = bo + p * n;
                    for (int j = j0; j < j1; j++) c[ci + j] = c[ci + j] + a0 * b[b0 + j];
                }
            }
        }
    }

    /** The fp64 twin of {@link #tileF32}. */
    static void tileF64(double[] a, int ao, double[] b, int bo, double[] c, int co, int k, int n,
                        int i0, int i1, int j0, int j1) {
        for (int i = i0; i < i1; i++) {
            int ci = co + i * n;
            for (int j = j0; j < j1; j++) c[ci + j] = 0d;
        }
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            for (int i = i0; i < i1; i++) {
                int ai = ao + i * k, ci = co + i * n;
                int p = k0;
                for (; p + 3 < k1; p += 4) {
                    double a0 = a[ai + p], a1 = a[ai + p + 1], a2 = a[ai + p + 2], a3 = a[ai + p + 3];
                    int b0 = bo + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
                    for (int j = j0; j < j1; j++) {
                        c[ci + j] = c[ci + j] + a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
                    }
                }
                for (; p < k1; p++) {
                    double a0 = a[ai + p];
                    int b0 = bo + p * n;
                    for (int j = j0; j < j1; j++) c[ci + j] = c[ci + j] + a0 * b[b0 + j];
                }
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
