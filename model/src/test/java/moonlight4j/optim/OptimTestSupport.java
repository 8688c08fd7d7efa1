package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Small helpers shared by the optimizer tests. */
final class OptimTestSupport {

    private OptimTestSupport() {
    }

    static float[] gaussian(Random rnd, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (scale * rnd.nextGaussian());
        return x;
    }

    static int numel(int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** A toy parameter set with both Muon and AdamW parameters (HF names). */
    static Map<String, int[]> toyShapes() {
        Map<String, int[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new int[]{40, 24});
        s.put("model.layers.0.input_layernorm.weight", new int[]{24});
        s.put("model.layers.0.self_attn.q_proj.weight", new int[]{32, 24});
        s.put("model.layers.0.mlp.down_proj.weight", new int[]{24, 48});
        s.put("model.norm.weight", new int[]{24});
        s.put("lm_head.weight", new int[]{40, 24});
        return s;
    }

    static Map<String, Tensor> randomTensors(Backend be, Map<String, int[]> shapes, Random rnd, double scale) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        shapes.forEach((n, s) -> m.put(n, be.fromFloats(gaussian(rnd, numel(s), scale), s)));
        return m;
    }

    static Map<String, Tensor> copies(Backend be, Map<String, Tensor> m) {
        Map<String, Tensor> c = new LinkedHashMap<>();
        m.forEach((n, t) -> c.put(n, be.copy(t)));
        return c;
    }

    static void closeAll(Map<String, Tensor> m) {
        m.values().forEach(Tensor::close);
    }
}
