package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.optim.Muon;
import moonlight4j.optim.NewtonSchulz;
import moonlight4j.optim.NsCoefficients;
import moonlight4j.optim.ParamSplit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code muon_step} (golden-data/FORMAT.md §3.3): the release optimizer from {@code get_optimizer("muon", ...)}
 * replayed for {@code config.steps} steps with the case's fixed gradients ({@code in.grad.step{k}.<name>}; absent =
 * grad None). Once with bf16 NS ({@code out.step{k}.param.*}, {@code state.step{k}.*}) and once with fp32 NS
 * ({@code out.fp32ns.step{k}.param.*}).
 */
final class MuonStepRunner implements CaseRunner {

    /** The state slots the golden files hold (per-parameter step counts are not stored there). */
    private static final Set<String> STATE_SLOTS = Set.of("momentum_buffer", "moment1", "moment2");

    @Override
    public String kind() {
        return "muon_step";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        List<String> names = paramNames(c);
        Muon.Options options = options(c);
        int steps = c.config("steps").asInt();
        double lr = c.config("lr").asDouble();
        Map<String, Tensor> out = new LinkedHashMap<>();
        replay(c, be, names, options, steps, lr, "out.", true, out);
        replay(c, be, names, options.withNewtonSchulz(options.newtonSchulz().withDtype(moonlight4j.api.DType.F32)),
                steps, lr, "out.fp32ns.", false, out);
        return out;
    }

    /** {@code config.params} in order; checks that {@code config.use_muon} is the release split we apply. */
    private static List<String> paramNames(GoldenCase c) {
        List<String> names = new ArrayList<>();
        JsonNode useMuon = c.config("use_muon");
        for (JsonNode p : c.config("params")) {
            String name = p.get(0).asText();
            int[] shape = new int[p.get(1).size()];
            for (int i = 0; i < shape.length; i++) shape[i] = p.get(1).get(i).asInt();
            boolean ours = ParamSplit.RELEASE.useMuon(name, shape);
            if (!useMuon.has(name) || useMuon.get(name).asBoolean() != ours) {
                throw new IllegalArgumentException(c.path() + ": config use_muon[" + name + "] = " + useMuon.get(name)
                        + " but the release split (docs/muon.md#parameter-split) gives " + ours);
            }
            names.add(name);
        }
        return names;
    }

    /** get_optimizer("muon", model, lr, wd), then momentum/nesterov set from the config. */
    private static Muon.Options options(GoldenCase c) {
        JsonNode betas = c.config("adamw_betas");
        int nsSteps = c.config("ns_steps").asInt();
        return Muon.Options.defaults()
                .withWeightDecay(c.config("wd").asDouble())
                .withMomentum(c.config("momentum").asDouble(), c.config("nesterov").asBoolean())
                .withNewtonSchulz(NewtonSchulz.release().withSchedule(NsCoefficients.repeat(NsCoefficients.MUON, nsSteps)))
                .withAdamW(betas.get(0).asDouble(), betas.get(1).asDouble(), c.config("adamw_eps").asDouble());
    }

    private static void replay(GoldenCase c, Backend be, List<String> names, Muon.Options options, int steps,
                               double lr, String outPrefix, boolean withState, Map<String, Tensor> out) {
        Map<String, Tensor> params = new LinkedHashMap<>();
        try (Muon muon = new Muon(be, options)) {
            for (String n : names) params.put(n, c.tensor(be, "param." + n));
            for (int k = 1; k <= steps; k++) {
                Map<String, Tensor> grads = new LinkedHashMap<>();
                try {
                    for (String n : names) {
                        String g = "in.grad.step" + k + "." + n;
                        if (c.has(g)) grads.put(n, c.tensor(be, g));   // absent = grad None this step
                    }
                    muon.step(params, grads, lr);
                } finally {
                    grads.values().forEach(Tensor::close);
                }
                for (String n : names) out.put(outPrefix + "step" + k + ".param." + n, be.copy(params.get(n)));
                if (withState) putState(muon.stateDict(), k, out);
            }
        } finally {
            params.values().forEach(Tensor::close);
        }
    }

    /** Our {@code <param>.<slot>} keys as the golden {@code state.step{k}.<slot>.<param>}; step counts dropped. */
    private static void putState(Map<String, Tensor> state, int k, Map<String, Tensor> out) {
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            int dot = key.lastIndexOf('.');
            String slot = key.substring(dot + 1);
            if (STATE_SLOTS.contains(slot)) {
                out.put("state.step" + k + "." + slot + "." + key.substring(0, dot), e.getValue());
            } else {
                e.getValue().close();
            }
        }
    }
}
