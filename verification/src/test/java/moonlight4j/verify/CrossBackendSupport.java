package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.quicktheories.core.Gen;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Shared pieces of the cross-backend tests: the two backends, the drawn {@link Case}, identical inputs on both, and
 * the error-bound assertion (see {@link CrossBackendPropertiesTest} for the error model).
 */
final class CrossBackendSupport {

    private CrossBackendSupport() {
    }

    /** Largest error seen per op, in units of u·scale; printed after each test class (the "measured" figures). */
    static final Map<String, Double> WORST = new TreeMap<>();

    static void printWorst(String cls) {
        synchronized (WORST) {
            StringBuilder sb = new StringBuilder(cls + " worst |nd4j − cpu| per op, F32/F64 in units of u·scale,"
                    + " BF16 as the fraction of its bound used:");
            WORST.forEach((k, v) -> sb.append(String.format("%n  %-28s %.3f", k, v)));
            System.out.println(sb);
            WORST.clear();
        }
    }

    static int numel(int[] s) {
        int n = 1;
        for (int d : s) n *= d;
        return n;
    }

    static final Backend CPU = Backends.get("cpu");
    static final Backend ND4J = Backends.get("nd4j");
    static final DType[] FLOATING = {DType.F32, DType.BF16, DType.F64};

    /** One drawn case: a dtype, three sizes (batch 1..3, rows 1..9, cols 1..17) and a data seed. */
    record Case(DType dt, int b, int m, int n, long seed) {
        double u() {
            return dt == DType.F64 ? 0x1p-53 : 0x1p-24;
        }
    }

    static Gen<Case> cases() {
        return integers().between(0, 2).zip(integers().between(1, 3), integers().between(1, 9),
                        (d, b, m) -> new int[]{d, b, m})
                .zip(integers().between(1, 17), longs().all(),
                        (dbm, n, seed) -> new Case(FLOATING[dbm[0]], dbm[1], dbm[2], n, seed));
    }

    /** Examples per property: enough to hit every dtype many times, few enough to keep the suite at seconds. */
    static final int EXAMPLES = 60;

    // ------------------------------------------------------------------ helpers

    /** The same values (rounded to dt exactly once, on the host) as a tensor on each backend: {cpu, nd4j}. */
    static Tensor[] both(DType dt, double[] v, int... shape) {
        ByteBuffer bytes = ByteBuffer.allocate(v.length * dt.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) {
            switch (dt) {
                case F32 -> bytes.putFloat((float) x);
                case BF16 -> bytes.putShort(bf16Bits((float) x));
                case F64 -> bytes.putDouble(x);
                default -> throw new IllegalArgumentException(dt.name());
            }
        }
        bytes.flip();
        return new Tensor[]{CPU.fromBuffer(bytes, dt, shape), ND4J.fromBuffer(bytes, dt, shape)};
    }

    static Tensor[] bothIds(long[] ids, int... shape) {
        return new Tensor[]{CPU.fromLongs(ids, shape), ND4J.fromLongs(ids, shape)};
    }

    static short bf16Bits(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((b >>> 16) | 0x40);
        return (short) ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
    }

    static double[] normal(Random r, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian() * scale;
        return v;
    }

    /** The tensor's values exactly, as doubles. */
    static double[] values(Tensor t) {
        return t.backend().toDoubles(t);
    }

    /** One bf16 ulp at magnitude |v| (2⁻⁷ relative to the leading power of two); 0 for other dtypes. */
    static double bf16Ulp(DType dt, double v) {
        if (dt != DType.BF16) return 0;
        return Math.ulp((float) Math.abs(v)) * 65536.0;
    }

    /**
     * Asserts same shape and, element by element, {@code |n − o| ≤ k·u·scale_i + bf16Roundings·ulp_bf16(max(|n|,|o|))}.
     * Returns the largest {@code |n − o| / (u·scale_i)} seen (0 when exact), for the measurements noted per op.
     */
    static double assertClose(String what, Case c, Tensor o, Tensor n, double k, double[] scale, int bf16Roundings) {
        assertThat(n.shape()).as(what + " shape").containsExactly(o.shape());
        assertThat(n.dtype()).as(what + " dtype").isEqualTo(o.dtype());
        double[] ov = values(o), nv = values(n);
        double worst = 0;
        for (int i = 0; i < ov.length; i++) {
            if (Double.isNaN(ov[i]) && Double.isNaN(nv[i])) continue;
            double err = Math.abs(nv[i] - ov[i]);
            double bound = k * c.u() * scale[i] + bf16Roundings * bf16Ulp(c.dt(), Math.max(Math.abs(ov[i]), Math.abs(nv[i])));
            if (!(err <= bound)) {
                throw new AssertionError(what + " " + c + " element " + i + ": nd4j " + nv[i] + " vs cpu " + ov[i]
                        + ", |diff| " + err + " > bound " + bound);
            }
            // F32/F64: the error in units of u·scale; BF16: the fraction of the bound used (flips included)
            if (c.dt() == DType.BF16) worst = Math.max(worst, bound > 0 ? err / bound : 0);
            else if (scale[i] > 0) worst = Math.max(worst, err / (c.u() * scale[i]));
        }
        String key = what.replaceAll(" axis.*", "") + " " + c.dt();
        synchronized (WORST) {
            WORST.merge(key, worst, Math::max);
        }
        return worst;
    }

    static void assertExact(String what, Tensor o, Tensor n) {
        assertThat(n.shape()).as(what + " shape").containsExactly(o.shape());
        assertThat(n.dtype()).as(what + " dtype").isEqualTo(o.dtype());
        assertThat(values(n)).as(what).containsExactly(values(o));
    }

    static double[] abs(double[] v) {
        double[] a = new double[v.length];
        for (int i = 0; i < v.length; i++) a[i] = Math.abs(v[i]);
        return a;
    }

    static void closeAll(Tensor... ts) {
        for (Tensor t : ts) t.close();
    }

}
