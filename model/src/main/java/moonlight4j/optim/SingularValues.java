package moonlight4j.optim;

import java.util.Arrays;

/**
 * Singular values of a small matrix in fp64, as {@code √eig(X·Xᵀ)} (the shorter side's Gram matrix) with the cyclic
 * Jacobi eigenvalue method. For watching Newton-Schulz work ({@code moonlight explain}, {@code NewtonSchulzTest}):
 * O(m²·n + sweeps·m³), fine for matrices of a few hundred rows, not a general SVD.
 */
public final class SingularValues {

    private SingularValues() {
    }

    /** Singular values (ascending) of the row-major {@code rows × cols} matrix x, using the shorter side. */
    public static double[] of(double[] x, int rows, int cols) {
        boolean wide = rows <= cols;
        int m = wide ? rows : cols, n = wide ? cols : rows;
        double[] g = new double[m * m];                        // (m, m) = X·Xᵀ (wide) or Xᵀ·X (tall)
        for (int i = 0; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += wide ? x[i * cols + k] * x[j * cols + k] : x[k * cols + i] * x[k * cols + j];
                }
                g[i * m + j] = s;
                g[j * m + i] = s;
            }
        }
        double[] ev = symmetricEigenvalues(g, m);
        double[] sv = new double[m];
        for (int i = 0; i < m; i++) sv[i] = Math.sqrt(Math.max(0, ev[i]));
        Arrays.sort(sv);
        return sv;
    }

    /** Eigenvalues of a symmetric m×m matrix (destroys a), cyclic Jacobi rotations until off-diagonal ≈ 0. */
    public static double[] symmetricEigenvalues(double[] a, int m) {
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0, diag = 0;
            for (int i = 0; i < m; i++) {
                diag += a[i * m + i] * a[i * m + i];
                for (int j = i + 1; j < m; j++) off += a[i * m + j] * a[i * m + j];
            }
            if (off <= 1e-30 * diag) break;
            for (int p = 0; p < m; p++) {
                for (int q = p + 1; q < m; q++) {
                    double apq = a[p * m + q];
                    if (apq == 0) continue;
                    double theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < m; k++) {                    // rotate rows/cols p and q
                        double akp = a[k * m + p], akq = a[k * m + q];
                        a[k * m + p] = c * akp - s * akq;
                        a[k * m + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < m; k++) {
                        double apk = a[p * m + k], aqk = a[q * m + k];
                        a[p * m + k] = c * apk - s * aqk;
                        a[q * m + k] = s * apk + c * aqk;
                    }
                }
            }
        }
        double[] ev = new double[m];
        for (int i = 0; i < m; i++) ev[i] = a[i * m + i];
        return ev;
    }
}
