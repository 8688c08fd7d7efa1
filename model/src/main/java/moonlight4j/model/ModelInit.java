package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random initialisation for training from scratch (docs/model.md#initialisation, as the release's
 * {@code _init_weights}): every linear weight and the embedding ~ N(0, σ²) with σ = {@code initializer_range} (0.02),
 * the router weight too (as the native transformers code does), RMSNorm weights 1, {@code e_score_correction_bias} 0
 * (kept in fp32). Deterministic: each tensor draws from its own stream seeded by (seed, name), so the values do not
 * depend on the order of creation.
 */
public final class ModelInit {

    private ModelInit() {
    }

    /** A freshly initialised parameter map for {@code cfg} in {@code dtype} (F32 or BF16). */
    public static Parameters random(MoonlightConfig cfg, Backend be, DType dtype, long seed) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F64) {
            throw new IllegalArgumentException("model dtype must be F32, BF16 or F64, got " + dtype);
        }
        double std = initializerRange(cfg);
        Parameters p = new Parameters();
        for (Map.Entry<String, int[]> e : ModelShapes.expected(cfg).entrySet()) {
            String name = e.getKey();
            int[] shape = e.getValue();
            if (ModelShapes.isFp32Always(name)) {
                p.put(name, be.zeros(dtype == DType.F64 ? DType.F64 : DType.F32, shape));
            } else if (ModelShapes.isNorm(name)) {
                p.put(name, be.full(dtype, 1.0, shape));
            } else {
                p.put(name, gaussian(be, dtype, shape, std, seed, name));
            }
        }
        return p;
    }

    /** {@code initializer_range} from the config (an accepted, forward-unused field), 0.02 when absent. */
    public static double initializerRange(MoonlightConfig cfg) {
        var n = cfg.unused().get("initializer_range");
        return n != null && n.isNumber() ? n.doubleValue() : 0.02;
    }

    private static Tensor gaussian(Backend be, DType dtype, int[] shape, double std, long seed, String name) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        int n = Shapes.numelInt(shape);
        if (dtype == DType.F64) {
            double[] d = new double[n];
            for (int i = 0; i < n; i++) d[i] = std * normal(rng);
            return be.fromDoubles(d, shape);
        }
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (std * normal(rng));
        Tensor t = be.fromFloats(f, shape);
        if (dtype == DType.F32) return t;
        Tensor c = be.cast(t, dtype);
        t.close();
        return c;
    }

    /** A standard normal draw (Marsaglia polar method). */
    private static double normal(SplittableRandom rng) {
        double u, v, s;
        do {
            u = 2 * rng.nextDouble() - 1;
            v = 2 * rng.nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        return u * Math.sqrt(-2 * Math.log(s) / s);
    }
}
