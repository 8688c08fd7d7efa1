package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * fp64 central finite differences against a layer's backward. The scalar probed is {@code L = Σ y ⊙ R} for a fixed
 * random R shaped like the output y, so {@code backward(R)} must return {@code dL/dx} and put {@code dL/dW} into the
 * gradient map. For sampled elements of x and of every parameter, {@code (L(θ+h) − L(θ−h)) / 2h} is compared with the
 * analytic value; a parameter absent from the map (grad None) must have a numerical gradient of exactly 0.
 *
 * <p>Error budget (F64, h = 1e-5, Richardson-extrapolated over h and h/2, {@link #derivative}): truncation
 * O(h⁴·|L⁽⁵⁾|) and rounding ≈ 3·ε·|L|/h ≈ 3e-10 for |L| ≲ 5. Plain central differences (truncation h²/6·|L‴|)
 * once failed on a row of one element with |x| ≪ 1, where RMSNorm's third derivative is huge (analytic 270.7786,
 * numerical 270.7797: 4e-6 relative); {@code BackwardGradCheckTest.rmsNormOfOneTinyElement} keeps that case.
 * Measured with plain central differences (4 full runs, per-test maxima printed): 1e-10 … 8e-9 typically, 4.0e-8
 * once.
 * {@link #TOL} = 1e-6 relative to max(1, |g|): 25× over the largest measured error, while a real backward bug
 * (a dropped term, a wrong transpose) gives O(1e-2 … 1) errors — dropping the normalisation term of the router's
 * backward was caught by three of the tests.
 */
final class GradCheck {

    static final double H = 1e-5;
    static final double TOL = 1e-6;

    /** The largest |analytic − numeric| / max(1, |numeric|) seen so far (printed by the tests, for the record). */
    static volatile double maxError;

    private GradCheck() {
    }

    /** One mismatch description, or null when every sampled element agrees. */
    static List<String> check(Backend be, Parameters params, double[] x, int[] xShape,
                              Function<Tensor, Tensor> forward, BiFunction<Tensor, Grads, Tensor> backward,
                              BooleanSupplier sameRegion, long seed, int samples) {
        return check(be, params, x, xShape, forward, backward, sameRegion, seed, samples, Map.of());
    }

    /**
     * {@link #check} probing, for each parameter named in {@code probes}, exactly the flat element indices given there
     * instead of {@code samples} random ones (e.g. the embedding rows that the tokens use).
     */
    static List<String> check(Backend be, Parameters params, double[] x, int[] xShape,
                              Function<Tensor, Tensor> forward, BiFunction<Tensor, Grads, Tensor> backward,
                              BooleanSupplier sameRegion, long seed, int samples, Map<String, int[]> probes) {
        Random rnd = new Random(seed);
        Tensor y0 = forward.apply(be.fromDoubles(x, xShape));
        double[] r = new double[(int) y0.numel()];
        for (int i = 0; i < r.length; i++) r[i] = rnd.nextGaussian();
        Tensor rt = be.fromDoubles(r, y0.shape());
        Grads grads = new Grads();
        double[] dx = be.toDoubles(backward.apply(rt, grads));
        List<String> bad = new ArrayList<>();
        Function<double[], Double> lossOfX = xs -> dot(be.toDoubles(forward.apply(be.fromDoubles(xs, xShape))), r);
        for (int s = 0; s < Math.min(samples, x.length); s++) {
            int i = rnd.nextInt(x.length);
            Double num = derivative(delta -> {
                double[] xs = x.clone();
                xs[i] += delta;
                return lossOfX.apply(xs);
            }, sameRegion);
            if (num == null) continue;                                   // a discrete choice (top-k) flipped
            compare("x" + i, dx[i], num, bad);
        }
        for (String name : params.names()) {
            Tensor orig = params.get(name);
            double[] w = be.toDoubles(orig);
            Tensor g = grads.get(name);
            double[] gd = g == null ? null : be.toDoubles(g);
            int[] at = probes.get(name);
            for (int s = 0; s < (at != null ? at.length : Math.min(samples, w.length)); s++) {
                int i = at != null ? at[s] : rnd.nextInt(w.length);
                Double n = derivative(delta -> {
                    double[] ws = w.clone();
                    ws[i] += delta;
                    params.put(name, be.fromDoubles(ws, orig.shape()));
                    return dot(be.toDoubles(forward.apply(be.fromDoubles(x, xShape))), r);
                }, sameRegion);
                params.put(name, orig);
                if (n == null) continue;
                double num = n;
                if (gd == null) {
                    if (num != 0) bad.add(name + "[" + i + "]: grad None but numerical " + num);
                } else {
                    compare(name + "[" + i + "]", gd[i], num, bad);
                }
            }
        }
        return bad;
    }

    /**
     * {@code dL/dθ} by Richardson-extrapolated central differences, {@code (4·D(H/2) − D(H)) / 3} with
     * {@code D(h) = (L(θ+h) − L(θ−h)) / 2h}: the h² error terms cancel, leaving O(h⁴). Null when a discrete choice
     * (top-k) differs at any of the four points.
     */
    static Double derivative(java.util.function.DoubleUnaryOperator lossAt, BooleanSupplier sameRegion) {
        double[] d = new double[2];
        double[] hs = {H, H / 2};
        for (int k = 0; k < 2; k++) {
            double lp = lossAt.applyAsDouble(hs[k]);
            boolean okP = sameRegion.getAsBoolean();
            double lm = lossAt.applyAsDouble(-hs[k]);
            if (!okP || !sameRegion.getAsBoolean()) return null;
            d[k] = (lp - lm) / (2 * hs[k]);
        }
        return (4 * d[1] - d[0]) / 3;
    }

    static void compare(String what, double analytic, double numeric, List<String> bad) {
        double err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric));
        if (err > maxError) maxError = err;
        if (!(err <= TOL)) bad.add(what + ": analytic " + analytic + " numerical " + numeric);
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double[] gaussian(Random r, int n, double std) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = std * r.nextGaussian();
        return d;
    }
}
