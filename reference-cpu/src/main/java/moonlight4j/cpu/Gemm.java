package moonlight4j.cpu;

import moonlight4j.api.Bf16;

/**
 * Matrix product {@code c_mn = Σ_k a_mk · b_kn} for row-major {@code b [K,N]} and {@code c [M,N]}, a row-major
 * {@code a [M,K]} or one stored as {@code [K,M]}, batched over a leading dimension, cache-blocked and split over the
 * {@link Workers}.
 *
 * <p><b>Deterministic summation.</b> Every c_mn is accumulated by one thread, starting from +0, adding the products
 * in the order k = 0, 1, ..., K−1 with a plain multiply then add (no FMA: Java never contracts {@code a*b + c}).
 * Blocking only changes <em>when</em> each addition happens, never the order, so the result is bit-identical for
 * any block sizes and any thread count, and equal to the naive triple loop. This is the order golden-data/FORMAT.md
 * §3.1 requires to reproduce the release's bf16 Newton–Schulz bits (a product of two bf16 values is exact in fp32).
 *
 * <p><b>Blocking.</b> A task owns a tile of {@value #MB} rows × {@value #NB_F32} columns of c (fp64: {@value #NB_F64};
 * narrower for products too small to give every thread two tiles). It walks k in blocks of {@value #KB}, copies the
 * {@code KB × NB} panel of b (L2-sized) into one array per row, and per pair of rows i, i+1 updates local copies of
 * the two c row segments (L1-sized) four k's at a time:
 * {@code c0[j] = c0[j] + x0·b0[j] + x1·b1[j] + x2·b2[j] + x3·b3[j]}, {@code c1[j]} likewise with y0..y3 — Java
 * evaluates each left to right, i.e. in k order, and C2 vectorizes the loop across j; every panel element loaded
 * serves both rows. For BF16 a row segment is rounded once after its last k block, while still in cache. An a stored
 * transposed is read in place through its {@link Strides}; a transposed b is copied once by the caller (the panel
 * copies rows of b). No processor-specific code. Where the JVM has the Vector API, fp32 tiles run {@link VectorTile}
 * instead: the same sums in the same order, bit for bit, with a 4-row × 4-vector block of c held in registers.
 *
 * <p><b>Measured</b> ({@code GemmBench 1 5 F32}, one thread, 2-core AMD EPYC with AVX-512, JDK 17, both versions run
 * alternately at load average 3.5–3.8 from other jobs on the 2 cores, best of 5 after a warm-up): 1024³ 49 GFLOP/s
 * with row pairs against 31 with one row at a time, 1024×4096·4096×1024 50 against 37 (on an idle machine one row at a
 * time measured 54 per thread, 104 on two). Tried and slower: one row with eight k's per pass (36), two rows with
 * eight k's (9: C2 no longer vectorizes the loop), three or four rows (10–43); the same loop indexing b and c at
 * offsets, 12 (not vectorized).
 */
final class Gemm implements AutoCloseable {

    /**
     * System property: {@code false} keeps the fp32 tiles on the scalar loop where the Vector API is available (for
     * side-by-side measurements in one build: the bits are the same either way).
     */
    static final String VECTOR_PROPERTY = "moonlight.cpu.vector";

    /**
     * Whether fp32 tiles run {@link VectorTile}: the JVM was started with {@code --add-modules jdk.incubator.vector}
     * (the {@code moonlight} launcher and the test runs are), vectors hold at least 4 floats, and
     * {@value #VECTOR_PROPERTY} is not {@code false}.
     */
    static final boolean VECTOR = vectorProperty(System.getProperty(VECTOR_PROPERTY))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() && VectorTile.lanes() >= 4;

    /** The fp32 tile in use, for the backend's device line: "Vector API tiles, 16 lanes" or "scalar tiles". */
    static String tileKernel() {
        return VECTOR ? "Vector API tiles, " + VectorTile.lanes() + " lanes" : "scalar tiles";
    }

    /** {@value #VECTOR_PROPERTY}'s value: unset or {@code true} → true, {@code false} → false, else an error. */
    static boolean vectorProperty(String value) {
        String v = value == null ? "true" : value.trim();
        if (v.equals("true") || v.equals("false")) return v.equals("true");
        throw new IllegalArgumentException("system property " + VECTOR_PROPERTY + " = '" + value
                + "': expected true or false");
    }

    static final int MB = 64;
    /**
     * Rows of a {@link VectorTile} task: it packs b's panel once per tile, and with 64 rows the packing (one
     * 64-float copy per k and column block) took 13% of a tiny-preset step (JFR, one thread). About 256, a multiple
     * of the register block's rows, so that no rows of a full task are left to the one-row loop.
     */
    static final int MB_VECTOR = VECTOR
            ? VectorTile.BLOCK.rows * ((256 + VectorTile.BLOCK.rows - 1) / VectorTile.BLOCK.rows) : 256;
    static final int KB = 128;
    static final int NB_F32 = 1024;
    static final int NB_F64 = 512;
    /** Products below this many multiply-adds run on the calling thread. */
    static final long PARALLEL_MIN_FLOPS = 1L << 18;

    private final Workers workers;
    private final boolean ownsWorkers;

    /** A GEMM on the backend's workers (not closed with it). */
    Gemm(Workers workers) {
        this.workers = workers;
        this.ownsWorkers = false;
    }

    /** A GEMM with its own {@code threads} worker threads (≥ 1; 1 runs everything on the caller), closed with it. */
    Gemm(int threads) {
        this.workers = new Workers(threads);
        this.ownsWorkers = true;
    }

    int threads() {
        return workers.threads();
    }

    /**
     * Where element (r, c) of one operand matrix of batch entry bi lies in its flat array:
     * {@code offset + bi·batch + r·row + c·col}. A row-major {@code [R, C]} matrix has (row, col) = (C, 1), its
     * transpose read in place has (1, R). a may be either; b must have col = 1 (its rows are copied into the panel).
     */
    record Strides(int offset, int batch, int row, int col) {

        /** Row-major {@code [batch, rows, cols]} read as stored ({@code transposed} false) or as its transpose. */
        static Strides of(int offset, int rows, int cols, boolean shared, boolean transposed) {
            return new Strides(offset, shared ? 0 : rows * cols, transposed ? 1 : cols, transposed ? cols : 1);
        }
    }

    /**
     * {@code c[b] = a[b] · bm[b]} for b in [0, batch): the m × k matrices of a and the k × n matrices of bm as
     * their {@link Strides} say, c {@code [batch, M, N]} row-major (overwritten). fp32 accumulation; {@code bf16}
     * rounds each finished c_mn once to bf16 ({@link Bf16#round}) inside the tile that computed it.
     */
    void f32(float[] a, Strides as, float[] bm, Strides bs, float[] c, int batch, int m, int k, int n, boolean bf16) {
        checkRowMajor(bs);
        run(batch, m, n, k, VECTOR ? MB_VECTOR : MB, NB_F32, (bi, i0, i1, j0, j1) ->
                tileF32(a, as, bm, bs, bi, c, bi * m * n, k, n, i0, i1, j0, j1, bf16));
    }

    /** {@link #f32} on row-major a {@code [batch, M, K]} and bm {@code [K, N]} (shared) or {@code [batch, K, N]}. */
    void f32(float[] a, float[] bm, float[] c, int batch, int m, int k, int n, boolean shared) {
        f32(a, Strides.of(0, m, k, false, false), bm, Strides.of(0, k, n, shared, false), c, batch, m, k, n, false);
    }

    private static void checkRowMajor(Strides bs) {
        if (bs.col() != 1) throw new IllegalArgumentException("Gemm: b must be row-major (col stride 1), got " + bs);
    }

    /**
     * The Gram matrices {@code c[b] = a[b]·a[b]ᵀ}: a {@code [batch, M, K]}, at its transpose {@code [batch, K, M]}
     * (read only by the scalar tiles: {@link VectorTile} packs its panel from a's rows, so it may be null there),
     * c {@code [batch, M, M]} (overwritten; {@code bf16} rounds as {@link #f32}). Only the upper triangle is computed,
     * then the lower one is mirrored: {@code c_ji = Σ_k a_jk·a_ik} is the same products (fp32 multiplication commutes
     * exactly) added in the same k order as {@code c_ij}, so every element has the bits of {@link #f32}. The scalar
     * tiles skip whole {@value #MB} × {@value #GRAM_NB} tiles below the diagonal; {@link VectorTile} skips its
     * register blocks (4 rows × 64 columns with AVX-512, 6 × 16 with AVX2), so 128 × 128 matrices already save a
     * quarter of the work and large ones about half. The mirror runs in row bands on the workers.
     */
    void f32Gram(float[] a, float[] at, float[] c, int batch, int m, int k, boolean bf16) {
        Strides as = Strides.of(0, m, k, false, false);
        if (VECTOR) {
            Strides aTransposed = Strides.of(0, m, k, false, true);   // b = aᵀ read in place: VectorTile packs columns
            run(batch, m, m, k, MB_VECTOR, NB_F32, (bi, i0, i1, j0, j1) -> {
                if (j1 > i0) VectorTile.tileF32(a, as, a, aTransposed, bi, c, bi * m * m, k, m, i0, i1, j0, j1, bf16, true);
            });
        } else {
            Strides ats = Strides.of(0, k, m, false, false);           // the transposed copy the scalar tiles read
            run(batch, m, m, k, MB, GRAM_NB, (bi, i0, i1, j0, j1) -> {
                if (j1 > i0) tileF32(a, as, at, ats, bi, c, bi * m * m, k, m, i0, i1, j0, j1, bf16);
            });
        }
        int bands = (m + 31) / 32;
        workers.runAll(batch * bands, (long) batch * m * m, t -> {
            int o = t / bands * m * m, i0 = t % bands * 32, i1 = Math.min(m, i0 + 32);
            for (int i = Math.max(i0, 1); i < i1; i++) {
                for (int j = 0; j < i; j++) c[o + i * m + j] = c[o + j * m + i];
            }
        });
    }

    /** Column tile width of {@link #f32Gram}: narrow enough that most tiles lie wholly on one side of the diagonal. */
    static final int GRAM_NB = 128;

    /** The fp64 twin of {@link #f32}: double accumulation in k order. */
    void f64(double[] a, Strides as, double[] bm, Strides bs, double[] c, int batch, int m, int k, int n) {
        checkRowMajor(bs);
        run(batch, m, n, k, MB, NB_F64, (bi, i0, i1, j0, j1) ->
                tileF64(a, as, bm, bs, bi, c, bi * m * n, k, n, i0, i1, j0, j1));
    }

    /** {@link #f64} on row-major operands, as the row-major {@link #f32}. */
    void f64(double[] a, double[] bm, double[] c, int batch, int m, int k, int n, boolean shared) {
        f64(a, Strides.of(0, m, k, false, false), bm, Strides.of(0, k, n, shared, false), c, batch, m, k, n);
    }

    private interface Tile {
        void compute(int batchIndex, int i0, int i1, int j0, int j1);
    }

    private void run(int batch, int m, int n, int k, int mbMax, int nbMax, Tile tile) {
        long flops = (long) batch * m * n * Math.max(k, 1);
        boolean parallel = workers.parallel() && flops >= PARALLEL_MIN_FLOPS;
        int mb = mbMax, nb = nbMax, threads = workers.threads();
        // small products: narrower tiles so every thread gets work (tiling never changes the k order of a c_mn)
        while (parallel && (long) batch * tiles(m, mb) * tiles(n, nb) < 2L * threads && (mb > 8 || nb > 64)) {
            if (mb > 8 && (tiles(m, mb) <= tiles(n, nb) || nb <= 64)) mb /= 2;
            else nb /= 2;
        }
        int mTiles = tiles(m, mb), nTiles = tiles(n, nb), rowTile = mb, colTile = nb;
        Workers.Range each = (from, to) -> {
            for (int t = from; t < to; t++) {
                int bi = t / (mTiles * nTiles), it = t / nTiles % mTiles, jt = t % nTiles;
                tile.compute(bi, it * rowTile, Math.min(m, (it + 1) * rowTile), jt * colTile, Math.min(n, (jt + 1) * colTile));
            }
        };
        int tiles = batch * mTiles * nTiles;
        if (parallel) workers.runAll(tiles, t -> each.run(t, t + 1));
        else each.run(0, tiles);
    }

    private static int tiles(int size, int block) {
        return (size + block - 1) / block;
    }

    /**
     * c[i0:i1, j0:j1] = a[i0:i1, :] · b[:, j0:j1] of batch entry bi, k in order. Per k block the panel
     * b[k0:k1, j0:j1] is copied into one small array per row and each c row segment into a local accumulator, so
     * every array in the inner loop is indexed by j alone: C2 can then prove the arrays distinct and aligned and
     * vectorizes the loop (about 4× faster than the same loop on offsets into b and c, measured). Rows go two at a
     * time, each panel element loaded once for both (about 1.3× one row at a time, measured): each row still adds
     * its own products in k order. The copies change no arithmetic.
     */
    static void tileF32(float[] a, Strides as, float[] b, Strides bs, int bi, float[] c, int co, int k, int n,
                        int i0, int i1, int j0, int j1, boolean bf16) {
        if (VECTOR) VectorTile.tileF32(a, as, b, bs, bi, c, co, k, n, i0, i1, j0, j1, bf16, false);
        else scalarTileF32(a, as, b, bs, bi, c, co, k, n, i0, i1, j0, j1, bf16);
    }

    /** {@link #tileF32} in scalar Java: the loop the paragraph above describes, used where the Vector API is absent. */
    static void scalarTileF32(float[] a, Strides as, float[] b, Strides bs, int bi, float[] c, int co, int k, int n,
                              int i0, int i1, int j0, int j1, boolean bf16) {
        int w = j1 - j0;
        int ao = as.offset() + bi * as.batch(), ar = as.row(), ak = as.col();
        float[] acc0 = new float[w], acc1 = new float[w];
        float[][] panel = new float[Math.min(KB, k)][w];
        if (k == 0) {
            for (int i = i0; i < i1; i++) System.arraycopy(acc0, 0, c, co + i * n + j0, w);
        }
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            boolean last = k1 == k;
            packF32(b, bs, bi, k0, k1, j0, w, panel);
            int i = i0;
            for (; i + 1 < i1; i += 2) {                            // rows i and i + 1
                int a0i = ao + i * ar, a1i = a0i + ar, c0i = co + i * n + j0, c1i = c0i + n;
                if (k0 == 0) {
                    java.util.Arrays.fill(acc0, 0f);
                    java.util.Arrays.fill(acc1, 0f);
                } else {
                    System.arraycopy(c, c0i, acc0, 0, w);
                    System.arraycopy(c, c1i, acc1, 0, w);
                }
                int p = k0;
                for (; p + 3 < k1; p += 4) {
                    int q = p * ak;
                    float x0 = a[a0i + q], x1 = a[a0i + q + ak], x2 = a[a0i + q + 2 * ak], x3 = a[a0i + q + 3 * ak];
                    float y0 = a[a1i + q], y1 = a[a1i + q + ak], y2 = a[a1i + q + 2 * ak], y3 = a[a1i + q + 3 * ak];
                    float[] b0 = panel[p - k0], b1 = panel[p - k0 + 1], b2 = panel[p - k0 + 2], b3 = panel[p - k0 + 3];
                    for (int j = 0; j < w; j++) {
                        float v0 = b0[j], v1 = b1[j], v2 = b2[j], v3 = b3[j];
                        acc0[j] = acc0[j] + x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
                        acc1[j] = acc1[j] + y0 * v0 + y1 * v1 + y2 * v2 + y3 * v3;
                    }
                }
                for (; p < k1; p++) {
                    float x0 = a[a0i + p * ak], y0 = a[a1i + p * ak];
                    float[] b0 = panel[p - k0];
                    for (int j = 0; j < w; j++) {
                        acc0[j] = acc0[j] + x0 * b0[j];
                        acc1[j] = acc1[j] + y0 * b0[j];
                    }
                }
                if (last && bf16) {
                    Bf16.roundInPlace(acc0, 0, w);
                    Bf16.roundInPlace(acc1, 0, w);
                }
                System.arraycopy(acc0, 0, c, c0i, w);
                System.arraycopy(acc1, 0, c, c1i, w);
            }
            if (i < i1) {                                           // the odd last row
                int a0i = ao + i * ar, c0i = co + i * n + j0;
                if (k0 == 0) java.util.Arrays.fill(acc0, 0f);
                else System.arraycopy(c, c0i, acc0, 0, w);
                for (int p = k0; p < k1; p++) {
                    float x0 = a[a0i + p * ak];
                    float[] b0 = panel[p - k0];
                    for (int j = 0; j < w; j++) acc0[j] = acc0[j] + x0 * b0[j];
                }
                if (last && bf16) Bf16.roundInPlace(acc0, 0, w);
                System.arraycopy(acc0, 0, c, c0i, w);
            }
        }
    }

    /** {@code panel[p − k0][0:w] = b[p, j0:j0+w]} for p in [k0, k1) of batch entry bi: row copies. */
    private static void packF32(float[] b, Strides bs, int bi, int k0, int k1, int j0, int w, float[][] panel) {
        int bo = bs.offset() + bi * bs.batch(), br = bs.row();
        for (int p = k0; p < k1; p++) System.arraycopy(b, bo + p * br + j0, panel[p - k0], 0, w);
    }

    /** The fp64 twin of {@link #tileF32} (no bf16). */
    static void tileF64(double[] a, Strides as, double[] b, Strides bs, int bi, double[] c, int co, int k, int n,
                        int i0, int i1, int j0, int j1) {
        int w = j1 - j0;
        int ao = as.offset() + bi * as.batch(), ar = as.row(), ak = as.col();
        double[] acc0 = new double[w], acc1 = new double[w];
        double[][] panel = new double[Math.min(KB, k)][w];
        if (k == 0) {
            for (int i = i0; i < i1; i++) System.arraycopy(acc0, 0, c, co + i * n + j0, w);
        }
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            packF64(b, bs, bi, k0, k1, j0, w, panel);
            int i = i0;
            for (; i + 1 < i1; i += 2) {
                int a0i = ao + i * ar, a1i = a0i + ar, c0i = co + i * n + j0, c1i = c0i + n;
                if (k0 == 0) {
                    java.util.Arrays.fill(acc0, 0d);
                    java.util.Arrays.fill(acc1, 0d);
                } else {
                    System.arraycopy(c, c0i, acc0, 0, w);
                    System.arraycopy(c, c1i, acc1, 0, w);
                }
                int p = k0;
                for (; p + 3 < k1; p += 4) {
                    int q = p * ak;
                    double x0 = a[a0i + q], x1 = a[a0i + q + ak], x2 = a[a0i + q + 2 * ak], x3 = a[a0i + q + 3 * ak];
                    double y0 = a[a1i + q], y1 = a[a1i + q + ak], y2 = a[a1i + q + 2 * ak], y3 = a[a1i + q + 3 * ak];
                    double[] b0 = panel[p - k0], b1 = panel[p - k0 + 1], b2 = panel[p - k0 + 2], b3 = panel[p - k0 + 3];
                    for (int j = 0; j < w; j++) {
                        double v0 = b0[j], v1 = b1[j], v2 = b2[j], v3 = b3[j];
                        acc0[j] = acc0[j] + x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
                        acc1[j] = acc1[j] + y0 * v0 + y1 * v1 + y2 * v2 + y3 * v3;
                    }
                }
                for (; p < k1; p++) {
                    double x0 = a[a0i + p * ak], y0 = a[a1i + p * ak];
                    double[] b0 = panel[p - k0];
                    for (int j = 0; j < w; j++) {
                        acc0[j] = acc0[j] + x0 * b0[j];
                        acc1[j] = acc1[j] + y0 * b0[j];
                    }
                }
                System.arraycopy(acc0, 0, c, c0i, w);
                System.arraycopy(acc1, 0, c, c1i, w);
            }
            if (i < i1) {
                int a0i = ao + i * ar, c0i = co + i * n + j0;
                if (k0 == 0) java.util.Arrays.fill(acc0, 0d);
                else System.arraycopy(c, c0i, acc0, 0, w);
                for (int p = k0; p < k1; p++) {
                    double x0 = a[a0i + p * ak];
                    double[] b0 = panel[p - k0];
                    for (int j = 0; j < w; j++) acc0[j] = acc0[j] + x0 * b0[j];
                }
                System.arraycopy(acc0, 0, c, c0i, w);
            }
        }
    }

    /** The fp64 twin of {@link #packF32}. */
    private static void packF64(double[] b, Strides bs, int bi, int k0, int k1, int j0, int w, double[][] panel) {
        int bo = bs.offset() + bi * bs.batch(), br = bs.row();
        for (int p = k0; p < k1; p++) System.arraycopy(b, bo + p * br + j0, panel[p - k0], 0, w);
    }

    @Override
    public void close() {
        if (ownsWorkers) workers.close();
    }
}
