package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.model.CausalLmLoss;
import moonlight4j.model.Grads;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.Parameters;
import moonlight4j.optim.Muon;
import moonlight4j.optim.ParamSplit;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code muon_train} (golden-data/FORMAT.md §3.9): three training steps of the model with the release optimizer
 * ({@code get_optimizer("muon", model, lr, wd)}: release split and defaults), constant lr, no clipping, no bias
 * update; grads of a step that a parameter did not take part in are None (absent), so that parameter gets no decay,
 * no momentum, no AdamW step. Run twice: bf16 NS ({@code out.loss}, {@code out.final.param.*}) and fp32 NS
 * ({@code out.fp32ns.*}).
 */
final class MuonTrainRunner implements CaseRunner {

    @Override
    public String kind() {
        return "muon_train";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        JsonNode opt = optimizer(c);
        double lr = opt.get("lr").asDouble();
        int steps = opt.get("steps").asInt();
        Muon.Options options = Muon.Options.defaults().withWeightDecay(opt.get("wd").asDouble());
        Parameters probe = ModelCases.params(c, be);
        JsonNode useMuon = opt.get("use_muon");
        for (String n : probe.names()) {
            boolean ours = ParamSplit.RELEASE.useMuon(n, probe.get(n).shape());
            if (useMuon == null || !useMuon.has(n) || useMuon.get(n).asBoolean() != ours) {
                throw new IllegalArgumentException(c.path() + ": optimizer use_muon[" + n + "] = "
                        + (useMuon == null ? null : useMuon.get(n)) + " but the release split (docs/muon.md#parameter-split) gives " + ours);
            }
        }
        probe.closeAll();
        Map<String, Tensor> out = new LinkedHashMap<>();
        replay(c, be, options, lr, steps, "out.", out);
        replay(c, be, options.withNewtonSchulz(options.newtonSchulz().withDtype(DType.F32)), lr, steps, "out.fp32ns.",
                out);
        return out;
    }

    private static void replay(GoldenCase c, Backend be, Muon.Options options, double lr, int steps, String prefix,
                               Map<String, Tensor> out) {
        MoonlightConfig cfg = ModelCases.config(c);
        Parameters params = ModelCases.params(c, be);
        MoonlightModel model = new MoonlightModel(be, cfg, params);
        model.training(true);
        float[] losses = new float[steps];
        try (Muon muon = new Muon(be, options)) {
            for (int k = 1; k <= steps; k++) {
                Tensor ids = ModelCases.input(c, be, "in.input_ids.step" + k);
                try (Tensor logits = model.forward(ids); Grads grads = new Grads()) {
                    CausalLmLoss loss = CausalLmLoss.of(be, logits, ids);      // labels = input_ids
                    losses[k - 1] = (float) loss.mean();
                    model.backward(loss.backward(1.0 / loss.count()), grads);
                    muon.step(params.asMap(), grads.asMap(), lr);              // then zero_grad(set_to_none)
                }
                ids.close();
            }
        }
        out.put(prefix + "loss", be.fromFloats(losses, steps));
        for (String n : params.names()) out.put(prefix + "final.param." + n, params.get(n));
    }

    private static JsonNode optimizer(GoldenCase c) {
        String s = c.metadata().get("optimizer");
        if (s == null) throw new IllegalArgumentException(c.path() + ": metadata has no 'optimizer'");
        try {
            return new ObjectMapper().readTree(s);
        } catch (IOException e) {
            throw new IllegalArgumentException(c.path() + ": metadata 'optimizer' is not valid JSON: " + e.getMessage());
        }
    }
}
