package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.Grads;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code model_grads} (golden-data/FORMAT.md §3.8): the mean causal-LM loss, the logits and {@code d loss / d param}
 * for every parameter. Parameters with grad None (absent from our {@link Grads}) are output as zeros like the golden
 * file; the set of grad-None names must equal the case's {@code grad_none} metadata exactly.
 */
final class ModelGradsRunner implements CaseRunner {

    @Override
    public String kind() {
        return "model_grads";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        Parameters params = ModelCases.params(c, be);
        MoonlightModel model = new MoonlightModel(be, ModelCases.config(c), params);
        model.training(true);
        Tensor ids = ModelCases.input(c, be, "in.input_ids");
        Tensor labels = ModelCases.input(c, be, "in.labels");
        Tensor logits = model.forward(ids);
        CausalLmLoss loss = CausalLmLoss.of(be, logits, labels);
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("out.loss", be.fromFloats(new float[]{(float) loss.mean()}));
        out.put("out.logits", logits);
        try (Grads grads = new Grads()) {
            model.backward(loss.backward(1.0 / loss.count()), grads);
            Set<String> none = new TreeSet<>();
            for (String n : params.names()) {
                Tensor g = grads.get(n);
                if (g == null) {
                    none.add(n);
                    out.put("out.grad." + n, be.zeros(DType.F32, params.get(n).shape()));
                } else {
                    out.put("out.grad." + n, be.cast(g, DType.F32));
                }
            }
            Set<String> want = new TreeSet<>(expectedNone(c));
            if (!none.equals(want)) {
                throw new IllegalStateException(c.name() + ": parameters without a gradient " + none
                        + " differ from the release's grad_none " + want);
            }
        }
        return out;
    }

    private static List<String> expectedNone(GoldenCase c) {
        List<String> names = new ArrayList<>();
        String s = c.metadata().get("grad_none");
        if (s == null) return names;
        try {
            for (JsonNode e : new com.fasterxml.jackson.databind.ObjectMapper().readTree(s)) names.add(e.asText());
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(c.path() + ": metadata grad_none is not a JSON list: " + e.getMessage());
        }
        return names;
    }
}
