package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.MoeGate;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Helpers shared by the model-kind runners (golden-data/FORMAT.md §3.4–3.10). */
final class ModelCases {

    private ModelCases() {
    }

    /** The case's {@code config} as a model config (missing fields take DeepseekV3Config defaults). */
    static MoonlightConfig config(GoldenCase c) {
        return MoonlightConfig.fromJson(c.config(), c.name());
    }

    /** Every {@code param.*} tensor under its name without the prefix, in file order. */
    static Parameters params(GoldenCase c, Backend be) {
        Parameters p = new Parameters();
        for (String n : c.names()) if (n.startsWith("param.")) p.put(n.substring("param.".length()), c.tensor(be, n));
        return p;
    }

    /** {@link #putRouting(GoldenCase, Backend, MoeGate.Routing, String, Map)} under {@code out.}. */
    static void putRouting(GoldenCase c, Backend be, MoeGate.Routing r, Map<String, Tensor> out) {
        putRouting(c, be, r, "out.", out);
    }

    /**
     * Puts {@code P topk_idx}, {@code P topk_weight} (our slot order) and, per row sorted by expert id,
     * {@code P topk_idx_sorted} / {@code P topk_weight_sorted} into {@code out} — only those the case has;
     * {@code P} is the name prefix ({@code out.} or {@code out.layer1.}).
     */
    static void putRouting(GoldenCase c, Backend be, MoeGate.Routing r, String p, Map<String, Tensor> out) {
        if (c.has(p + "topk_idx")) out.put(p + "topk_idx", be.copy(r.topkIdx()));
        if (c.has(p + "topk_weight")) out.put(p + "topk_weight", be.copy(r.topkWeight()));
        int n = r.topkIdx().dim(0), k = r.topkIdx().dim(1);
        long[] idx = be.toLongs(r.topkIdx());
        float[] w = be.toFloats(r.topkWeight());
        long[] si = new long[idx.length];
        float[] sw = new float[w.length];
        for (int row = 0; row < n; row++) {
            List<Integer> order = new ArrayList<>();
            for (int j = 0; j < k; j++) order.add(j);
            final int base = row * k;
            order.sort(Comparator.comparingLong(j -> idx[base + j]));
            for (int j = 0; j < k; j++) {
                si[base + j] = idx[base + order.get(j)];
                sw[base + j] = w[base + order.get(j)];
            }
        }
        if (c.has(p + "topk_idx_sorted")) out.put(p + "topk_idx_sorted", be.fromLongs(si, n, k));
        if (c.has(p + "topk_weight_sorted")) {
            Tensor f = be.fromFloats(sw, n, k);
            out.put(p + "topk_weight_sorted", r.topkWeight().dtype() == DType.F32 ? f : be.cast(f, r.topkWeight().dtype()));
        }
    }

    /** A required input tensor of the case. */
    static Tensor input(GoldenCase c, Backend be, String name) {
        if (!c.has(name)) throw new IllegalArgumentException(c.name() + ": missing input '" + name + "'");
        return c.tensor(be, name);
    }

    /** {@code x (..., C)} flattened to {@code (N, C)}. */
    static Tensor rows(Backend be, Tensor x) {
        int[] s = x.shape();
        return be.reshape(x, (int) (x.numel() / s[s.length - 1]), s[s.length - 1]);
    }

    static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
