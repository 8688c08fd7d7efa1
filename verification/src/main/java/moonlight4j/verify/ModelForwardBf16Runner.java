package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.AttentionMask;
import moonlight4j.model.DecoderLayer;
import moonlight4j.model.ModelShapes;
import moonlight4j.model.Moe;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code model_forward_bf16} (FORMAT §3.12): the model with the case's bf16 weights run in bf16 — logits, every hidden
 * state and, for each layer of {@code config.intermediate_layers}, the attention and MLP / MoE outputs before their
 * residual adds and a MoE layer's routing. The intermediates come from re-running that layer on its input hidden
 * state (the same ops on the same input, so the same values as inside the full forward).
 */
final class ModelForwardBf16Runner implements CaseRunner {

    @Override
    public String kind() {
        return "model_forward_bf16";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        return outputs(c, be, DType.BF16);
    }

    /**
     * Our outputs under the case's {@code out.*} names with the weights cast to {@code dtype}: BF16 is the release's
     * bf16 run; F32 (the weights are bf16-exact, so the cast is exact) is the run that {@code ref.fp32.*} holds.
     * The router bias stays fp32 (exact: it is bf16 in the file).
     */
    static Map<String, Tensor> outputs(GoldenCase c, Backend be, DType dtype) {
        MoonlightConfig cfg = ModelCases.config(c);
        Parameters params = ModelCases.params(c, be);
        for (String n : params.names()) {
            DType want = ModelShapes.isFp32Always(n) ? DType.F32 : dtype;
            Tensor t = params.get(n);
            if (t.dtype() != want) {
                params.put(n, be.cast(t, want));
                t.close();
            }
        }
        MoonlightModel model = new MoonlightModel(be, cfg, params);
        Tensor ids = ModelCases.input(c, be, "in.input_ids");
        MoonlightModel.Output o = model.forward(ids, null, null, true);
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("out.logits", dtype == DType.BF16 ? be.cast(o.logits(), DType.BF16) : o.logits()); // bf16-exact
        List<Tensor> hs = o.hiddenStates();
        for (int i = 0; i < hs.size(); i++) out.put("out.hidden_states." + i, hs.get(i));

        int b = ids.dim(0), t = ids.dim(1);
        long[] pos = new long[b * t];
        for (int i = 0; i < pos.length; i++) pos[i] = i % t;                    // default position ids
        Tensor positions = be.fromLongs(pos, b, t);
        Tensor mask = AttentionMask.causal(be, dtype, t, null);
        for (int i : intermediateLayers(c, cfg)) {
            DecoderLayer layer = model.layers().get(i);
            DecoderLayer.Branches br = layer.forwardBranches(hs.get(i), positions, mask);
            String p = "out.layer" + i + ".";
            out.put(p + "attn_output", br.attnOutput());
            out.put(p + "mlp_output", br.mlpOutput());
            br.output().close();
            if (layer.ffn() instanceof Moe moe) ModelCases.putRouting(c, be, moe.lastRouting(), p, out);
        }
        positions.close();
        mask.close();
        return out;
    }

    private static int[] intermediateLayers(GoldenCase c, MoonlightConfig cfg) {
        JsonNode n = c.config("intermediate_layers");
        if (n == null || !n.isArray()) {
            throw new IllegalArgumentException(c.path() + ": config.intermediate_layers must be a list of layer indices, got " + n);
        }
        int[] layers = new int[n.size()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = n.get(i).asInt(-1);
            if (!n.get(i).isInt() || layers[i] < 0 || layers[i] >= cfg.numHiddenLayers()) {
                throw new IllegalArgumentException(c.path() + ": config.intermediate_layers[" + i + "] = " + n.get(i)
                        + ", expected a layer index in [0, " + cfg.numHiddenLayers() + ")");
            }
        }
        return layers;
    }
}
