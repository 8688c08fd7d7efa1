package moonlight4j.cpu;

import moonlight4j.api.DType;

/**
 * RMSNorm and RoPE, forward and backward side by side. Letters: N rows (all leading dims), C channels;
 * B batch, H heads, S sequence, D rope dims.
 */
final class LayerKernels {

    private LayerKernels() {
    }

    // ------------------------------------------------------------------ RMSNorm (docs/model.md#rmsnorm)

    /**
     * {@code y = w ⊙ cast_x(x · rsqrt(mean(x²) + eps))} per row, as the release: x widened to fp32 (F64: fp64), the
     * squares and their sum rounded to fp32, {@code var = Σx²/C}, {@code r = rsqrt(var + eps)}, {@code h = x·r}
     * rounded to x's dtype, then {@code y = w·h} rounded again. x (N, C), w (C).
     */
    static void rmsNorm(Workers workers, CpuTensor x, CpuTensor w, double eps, CpuTensor y) {
        DType dt = x.dtype();
        int c = w.n;
        if (c == 0) return;
        workers.forRows(x.n / c, c, (from, to) -> {                // rows are independent: row blocks on the workers
            for (int row = from; row < to; row++) {
                int base = row * c;
                double r = rsqrtMeanSquare(x, base, c, eps);
                for (int j = 0; j < c; j++) {
                    double h = Precision.store(dt, Precision.compute(dt, x.at(base + j) * r));
                    y.put(base + j, w.at(j) * h);
                }
            }
        });
    }

    /**
     * Gradient of {@link #rmsNorm}, with {@code r = (mean(x²) + eps)^(−1/2)} and {@code dn = dy ⊙ w}:
     * {@code dx_j = r·dn_j − r³·x_j·(Σ_i dn_i·x_i)/C}, {@code dw_j = Σ_rows dy_j·x_j·r}. Computed in fp64 from the
     * same r as the forward; the forward's intermediate bf16 rounding of {@code h} is not differentiated (it is a
     * rounding, its derivative is taken as 1). dx and dw are rounded once to the dtype. The rows of dx are independent
     * and go in row blocks on the workers, each keeping its r; dw then adds the rows' terms in row order on one thread.
     */
    static void rmsNormBackward(Workers workers, CpuTensor x, CpuTensor w, double eps, CpuTensor dy, CpuTensor dx,
                                CpuTensor dw) {
        int c = w.n;
        if (c == 0) return;
        int rows = x.n / c;
        double[] r = new double[rows];
        workers.forRows(rows, c, (from, to) -> {
            for (int row = from; row < to; row++) {
                int base = row * c;
                double rr = r[row] = rsqrtMeanSquare(x, base, c, eps);
                double dot = 0;                                       // Σ_i dn_i·x_i
                for (int i = 0; i < c; i++) dot += dy.at(base + i) * w.at(i) * x.at(base + i);
                double r3 = rr * rr * rr;
                for (int j = 0; j < c; j++) {
                    dx.put(base + j, rr * dy.at(base + j) * w.at(j) - r3 * x.at(base + j) * dot / c);
                }
            }
        });
        double[] dwAcc = new double[c];
        for (int row = 0; row < rows; row++) {
            int base = row * c;
            for (int j = 0; j < c; j++) dwAcc[j] += dy.at(base + j) * x.at(base + j) * r[row];
        }
        for (int j = 0; j < c; j++) dw.put(j, dwAcc[j]);
    }

    /** {@code rsqrt(fl(Σ fl(x²)) / C + eps)} at compute precision, the fp32 path of the release. */
    private static double rsqrtMeanSquare(CpuTensor x, int base, int c, double eps) {
        DType dt = x.dtype();
        double ss = 0;
        for (int j = 0; j < c; j++) {
            double v = x.at(base + j);
            ss = Precision.compute(dt, ss + Precision.compute(dt, v * v));
        }
        double var = Precision.compute(dt, ss / c);
        double ve = Precision.compute(dt, var + Precision.compute(dt, eps));
        return Precision.compute(dt, 1.0 / Math.sqrt(ve));
    }

    // ------------------------------------------------------------------ RoPE (docs/model.md#rope-layout, golden-data/FORMAT.md §3.6)

    /**
     * x (B, H, S, D) in interleaved pair order → y in half-split order: {@code xd = [x_0, x_2, ..., x_1, x_3, ...]},
     * {@code y = xd·cos + rotate_half(xd)·sin} with {@code rotate_half(xd) = cat(−xd[D/2:], xd[:D/2])},
     * {@code cos/sin = cat(f, f)} cast to x's dtype, each product and the sum rounded to x's dtype. The positions are
     * independent and go in blocks on the workers.
     */
    static void rope(Workers workers, CpuTensor x, CpuTensor pos, double theta, CpuTensor y) {
        DType dt = x.dtype();
        int[] s = x.shapeRef();
        int bsz = s[0], h = s[1], seq = s[2], d = s[3], half = d / 2;
        double[] invFreq = invFreq(dt, theta, d);
        workers.forRows(bsz * seq, h * d, (from, to) -> {
            double[] cos = new double[half], sin = new double[half];
            for (int bt = from; bt < to; bt++) {
                int b = bt / seq, t = bt % seq;
                angles(dt, pos.l[bt], invFreq, cos, sin);
                for (int hh = 0; hh < h; hh++) {
                    int base = ((b * h + hh) * seq + t) * d;
                    for (int j = 0; j < half; j++) {
                        double xa = x.at(base + 2 * j), xb = x.at(base + 2 * j + 1);   // xd[j], xd[j + D/2]
                        // y[j] = xd[j]·cos_j + (−xd[j+D/2])·sin_j ; y[j+D/2] = xd[j+D/2]·cos_j + xd[j]·sin_j
                        y.put(base + j, Precision.store(dt, xa * cos[j]) + Precision.store(dt, -xb * sin[j]));
                        y.put(base + half + j, Precision.store(dt, xb * cos[j]) + Precision.store(dt, xa * sin[j]));
                    }
                }
            }
        });
    }

    /**
     * The transpose of {@link #rope}: per pair {@code (a, b) = (dy_j, dy_{j+D/2})},
     * {@code dxd_j = a·cos + b·sin}, {@code dxd_{j+D/2} = −a·sin + b·cos} (rotation by −angle, with the same
     * dtype-rounded cos/sin), then re-interleaved: {@code dx_{2j} = dxd_j, dx_{2j+1} = dxd_{j+D/2}}. Computed in
     * double, rounded once; positions in blocks on the workers, as the forward.
     */
    static void ropeBackward(Workers workers, CpuTensor dy, CpuTensor pos, double theta, CpuTensor dx) {
        DType dt = dy.dtype();
        int[] s = dy.shapeRef();
        int bsz = s[0], h = s[1], seq = s[2], d = s[3], half = d / 2;
        double[] invFreq = invFreq(dt, theta, d);
        workers.forRows(bsz * seq, h * d, (from, to) -> {
            double[] cos = new double[half], sin = new double[half];
            for (int bt = from; bt < to; bt++) {
                int b = bt / seq, t = bt % seq;
                angles(dt, pos.l[bt], invFreq, cos, sin);
                for (int hh = 0; hh < h; hh++) {
                    int base = ((b * h + hh) * seq + t) * d;
                    for (int j = 0; j < half; j++) {
                        double ga = dy.at(base + j), gb = dy.at(base + half + j);
                        dx.put(base + 2 * j, ga * cos[j] + gb * sin[j]);
                        dx.put(base + 2 * j + 1, -ga * sin[j] + gb * cos[j]);
                    }
                }
            }
        });
    }

    /**
     * {@code inv_freq_j = 1 / θ^(fl(2j / D))}, j &lt; D/2, computed in fp32 (PyTorch:
     * {@code 1.0 / (base ** (arange(0, D, 2).float() / D))}) and stored in the dtype: the release's rope buffer is cast
     * with the model ({@code model.to(torch.bfloat16)}), so for BF16 it is rounded to bf16 (golden-data FORMAT §3.12).
     */
    static double[] invFreq(DType dt, double theta, int d) {
        double[] inv = new double[d / 2];
        double base = Precision.compute(dt, theta);
        for (int j = 0; j < d / 2; j++) {
            double e = Precision.compute(dt, (2.0 * j) / d);
            inv[j] = Precision.store(dt, 1.0 / Precision.compute(dt, Math.pow(base, e)));
        }
        return inv;
    }

    /**
     * The table row of one position, built in the dtype as the release builds its cos/sin cache from the (cast)
     * {@code inv_freq}: {@code t = arange(..., dtype)[pos]}, {@code f_j = t·inv_freq_j}, {@code cos f}, {@code sin f},
     * each op computed in fp32 and stored in the dtype (F32: fp32 throughout; BF16: four bf16 roundings).
     */
    static void angles(DType dt, long pos, double[] invFreq, double[] cos, double[] sin) {
        double p = Precision.store(dt, (double) pos);
        for (int j = 0; j < invFreq.length; j++) {
            double f = Precision.store(dt, p * invFreq[j]);
            cos[j] = Precision.store(dt, Precision.compute(dt, Math.cos(f)));
            sin[j] = Precision.store(dt, Precision.compute(dt, Math.sin(f)));
        }
    }
}
