package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.Moe;
import moonlight4j.model.MoonlightConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code moe_layer} (golden-data/FORMAT.md §3.5): {@link Moe#forward} with the module's own parameter names. */
final class MoeLayerRunner implements CaseRunner {

    @Override
    public String kind() {
        return "moe_layer";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        MoonlightConfig cfg = ModelCases.config(c);
        Moe moe = new Moe(be, ModelCases.params(c, be), "", cfg);
        Tensor y = moe.forward(ModelCases.input(c, be, "in.hidden_states"));   // (B, T, C)
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("out.output", y);
        ModelCases.putRouting(c, be, moe.lastRouting(), out);
        return out;
    }
}
