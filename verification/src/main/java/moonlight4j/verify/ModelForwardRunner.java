package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.MoonlightModel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code model_forward} (golden-data/FORMAT.md §3.7): logits and every hidden state of {@link MoonlightModel#forward}. */
final class ModelForwardRunner implements CaseRunner {

    @Override
    public String kind() {
        return "model_forward";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        MoonlightModel model = new MoonlightModel(be, ModelCases.config(c), ModelCases.params(c, be));
        MoonlightModel.Output o = model.forward(ModelCases.input(c, be, "in.input_ids"), null, null, true);
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("out.logits", o.logits());
        List<Tensor> hs = o.hiddenStates();
        for (int i = 0; i < hs.size(); i++) out.put("out.hidden_states." + i, hs.get(i));
        return out;
    }
}
