package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.MoeGate;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code moe_gate} (golden-data/FORMAT.md §3.4): {@link MoeGate#forward} on {@code in.hidden_states} flattened to (N, C). */
final class MoeGateRunner implements CaseRunner {

    @Override
    public String kind() {
        return "moe_gate";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        MoonlightConfig cfg = ModelCases.config(c);
        Parameters p = ModelCases.params(c, be);
        MoeGate gate = new MoeGate(be, p, "", cfg);
        Tensor x = ModelCases.input(c, be, "in.hidden_states");                 // (B, T, C)
        MoeGate.Routing r = gate.forward(ModelCases.rows(be, x));                // (N, k) ids and weights
        Map<String, Tensor> out = new LinkedHashMap<>();
        ModelCases.putRouting(c, be, r, out);
        return out;
    }
}
