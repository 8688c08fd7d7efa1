package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.fail;

/**
 * Inputs and tolerances for {@link BackendContractTest}, written only against the SPI and plain Java, so that the
 * expected values never come from a backend.
 *
 * <p><b>Tolerance model.</b> The exact result r of an op is computed in fp64 from the exact input values. A backend
 * result g passes when {@code |g − r| ≤ u_s·|r| + (n_s·u_s + n·u_c)·s}, where {@code u_s} is the unit roundoff of the storage
 * dtype (the final rounding: F32 2⁻²⁴, BF16 2⁻⁸), {@code u_c} the unit roundoff of the compute precision (F32 and
 * BF16 compute in fp32: 2⁻²⁴), n the number of roundings of the op's error analysis (K for a K-term dot product or
 * sum, a small constant for an elementwise formula), n_s the roundings to the storage dtype inside the op (usually 0)
 * and s the magnitude the errors scale with (Σ|a_k b_k| for a dot
 * product, Σ|x| for a sum, |r| for a single rounding). This is the standard forward error bound of recursive
 * summation (Higham, Accuracy and Stability of Numerical Algorithms, §3.1: |fl(Σ) − Σ| ≤ γ_n Σ|x_i|, γ_n ≈ n·u).
 * F64 uses {@code 1e-12·(|r| + s)}: fp64 errors of these sizes (n ≤ a few thousand) are ≤ n·2⁻⁵³·s ≈ 1e-13·s.
 * Every check records its worst {@code |g − r| / bound}; {@link #report()} prints them (the measured margin).
 *
 * <p><b>Measured</b> on the cpu oracle (CpuBackendContractTest, 71 tests): worst error/bound F64 ≤ 0.12 (rope),
 * F32 ≤ 0.50 (single ops: the one correctly rounded result uses half of the 2-rounding bound; matmul 0.26,
 * softmax 0.21, sum 0.24), BF16 ≤ 0.99: a bf16 result is one rounding of an fp32 value, and RNE can land anywhere
 * up to half a bf16 ulp = u_s·|r| from it, so ratios near 1 are expected and the bound cannot be tighter.
 */
final class ContractFixtures {

    static final double U32 = 0x1p-24;
    static final double U_BF16 = 0x1p-8;

    /** Worst error/bound ratio per check name, printed after the suite. */
    static final Map<String, Double> WORST = new TreeMap<>();

    private ContractFixtures() {
    }

    /** Unit roundoff of the storage dtype. */
    static double uStore(DType dt) {
        return switch (dt) {
            case F32 -> U32;
            case BF16 -> U_BF16;
            default -> 0x1p-53;
        };
    }

    /** Unit roundoff of the compute precision (fp32 for F32 and BF16). */
    static double uCompute(DType dt) {
        return dt == DType.F64 ? 0x1p-53 : U32;
    }

    // ------------------------------------------------------------------ test-local rounding (independent of backends)

    /** Round-to-nearest-even fp32 → bf16 bits, written here so the test does not trust a backend's rounding. */
    static short bf16Bits(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((b >>> 16) | 0x40);
        return (short) ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
    }

    static double bf16(double v) {
        return Float.intBitsToFloat((bf16Bits((float) v) & 0xffff) << 16);
    }

    /** v rounded to dtype's storage as the SPI specifies (BF16 via fp32). */
    static double round(DType dt, double v) {
        return switch (dt) {
            case F32 -> (float) v;
            case BF16 -> bf16(v);
            default -> v;
        };
    }

    // ------------------------------------------------------------------ inputs

    /** Gaussian values, already rounded to dtype (so the fp64 reference sees exactly what the backend sees). */
    static double[] gaussian(Random r, DType dt, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = round(dt, scale * r.nextGaussian());
        return v;
    }

    /** A tensor of dtype holding exactly {@code v} (values must already be representable). */
    static Tensor tensor(Backend be, DType dt, double[] v, int... shape) {
        switch (dt) {
            case F64:
                return be.fromDoubles(v, shape);
            case F32: {
                float[] f = new float[v.length];
                for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
                return be.fromFloats(f, shape);
            }
            case BF16: {
                short[] s = new short[v.length];
                for (int i = 0; i < v.length; i++) s[i] = bf16Bits((float) v[i]);
                return be.fromBf16Bits(s, shape);
            }
            default:
                throw new IllegalArgumentException("not a floating dtype: " + dt);
        }
    }

    static Tensor longs(Backend be, long[] v, int... shape) {
        return be.fromLongs(v, shape);
    }

    // ------------------------------------------------------------------ comparison

    /**
     * Asserts {@code |got_i − ref_i| ≤ bound_i}, {@code bound_i = u_s·|ref_i| + (nStore·u_s + nCompute·u_c)·scale_i}
     * (F64: {@code 1e-12·(|ref_i| + scale_i)}). {@code nStore} counts roundings to the storage dtype inside the op
     * (e.g. bf16 cos/sin and products in rope), {@code nCompute} the compute-precision roundings (add one for the
     * cross term u_s·u_c·n of a bf16 result rounded from an fp32 value). scale null means |ref|. NaN must match
     * NaN, infinities exactly.
     */
    static void assertClose(String what, DType dt, double[] got, double[] ref, double[] scale, double nStore,
                            double nCompute) {
        if (got.length != ref.length) fail(what + ": " + got.length + " values, expected " + ref.length);
        double worst = 0;
        for (int i = 0; i < ref.length; i++) {
            double r = ref[i], g = got[i];
            if (Double.isNaN(r) || Double.isInfinite(r)) {
                if (Double.compare(g, r) != 0) fail(what + " [" + i + "]: got " + g + ", expected " + r);
                continue;
            }
            double s = scale == null ? Math.abs(r) : scale[i];
            double bound = dt == DType.F64 ? 1e-12 * (Math.abs(r) + s)
                    : uStore(dt) * Math.abs(r) + (nStore * uStore(dt) + nCompute * uCompute(dt)) * s;
            double err = Math.abs(g - r);
            if (!(err <= bound)) {
                fail(String.format("%s %s [%d]: got %.9g, expected %.9g, |error| %.3g > bound %.3g", what, dt, i, g, r,
                        err, bound));
            }
            if (bound > 0) worst = Math.max(worst, err / bound);
        }
        synchronized (WORST) {
            WORST.merge(what + " " + dt, worst, Math::max);
        }
    }

    /** {@link #assertClose} for an op computed in compute precision with {@code nCompute} roundings, rounded once. */
    static void assertClose(String what, DType dt, double[] got, double[] ref, double[] scale, double nCompute) {
        assertClose(what, dt, got, ref, scale, 0, nCompute);
    }

    /** Exact equality (data movement, integer results). */
    static void assertExact(String what, double[] got, double[] ref) {
        if (got.length != ref.length) fail(what + ": " + got.length + " values, expected " + ref.length);
        for (int i = 0; i < ref.length; i++) {
            if (Double.compare(got[i], ref[i]) != 0 && !(got[i] == ref[i])) {
                fail(what + " [" + i + "]: got " + got[i] + ", expected exactly " + ref[i]);
            }
        }
    }

    /** The measured worst error/bound ratio of every check (1.0 would be exactly at the bound). */
    static String report() {
        StringBuilder sb = new StringBuilder("worst |error| / bound per check:\n");
        synchronized (WORST) {
            WORST.forEach((k, v) -> sb.append(String.format("  %-34s %.3f%n", k, v)));
        }
        return sb.toString();
    }
}
