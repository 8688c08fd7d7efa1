package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.optim.NewtonSchulz;
import moonlight4j.optim.NsCoefficients;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code newton_schulz} (golden-data/FORMAT.md §3.1): {@code out.X} = the release's bf16 iteration,
 * {@code out.X_fp32} = the same iteration in fp32, both on {@code in.G} with {@code config.steps} steps of
 * {@code config.coefficients}.
 */
final class NewtonSchulzRunner implements CaseRunner {

    @Override
    public String kind() {
        return "newton_schulz";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        int steps = c.config("steps").asInt();
        JsonNode k = c.config("coefficients");
        if (!k.isArray() || k.size() != 3) {
            throw new IllegalArgumentException(c.path() + ": config 'coefficients' must be [a, b, c], got " + k);
        }
        double eps = c.config("eps").asDouble();
        if (eps != NewtonSchulz.EPS) {
            throw new IllegalArgumentException(c.path() + ": config 'eps' is " + eps + ", the release uses " + NewtonSchulz.EPS);
        }
        NsCoefficients coefficients = new NsCoefficients(k.get(0).asDouble(), k.get(1).asDouble(), k.get(2).asDouble());
        NewtonSchulz bf16 = NewtonSchulz.release().withSchedule(NsCoefficients.repeat(coefficients, steps));
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Tensor g = c.tensor(be, "in.G")) {                      // (rows, cols) F32
            out.put("out.X", bf16.apply(be, g));                    // BF16, the release
            out.put("out.X_fp32", bf16.withDtype(moonlight4j.api.DType.F32).apply(be, g));
        }
        return out;
    }
}
