package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.AttentionMask;
import moonlight4j.model.MlaAttention;
import moonlight4j.model.MoonlightConfig;

import java.util.Map;

/**
 * {@code mla_attention} (golden-data/FORMAT.md §3.6): {@link MlaAttention#forward} with the case's position ids and
 * additive mask (combined with our causal mask, which it equals). The case's recorded softmax scale and latent-norm eps
 * are checked against what the config implies, so a drift in either is reported as such.
 */
final class MlaAttentionRunner implements CaseRunner {

    @Override
    public String kind() {
        return "mla_attention";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        MoonlightConfig cfg = ModelCases.config(c);
        double scale = c.config("softmax_scale").doubleValue();
        if (Math.abs(scale - cfg.softmaxScale()) > 1e-15 * scale) {
            throw new IllegalStateException(c.name() + ": softmax_scale " + scale + " but the config implies "
                    + cfg.softmaxScale());
        }
        double eps = c.config("kv_a_layernorm_eps").doubleValue();
        if (eps != MoonlightConfig.LATENT_NORM_EPS) {
            throw new IllegalStateException(c.name() + ": kv_a_layernorm_eps " + eps + ", we use "
                    + MoonlightConfig.LATENT_NORM_EPS);
        }
        MlaAttention attn = new MlaAttention(be, ModelCases.params(c, be), "", cfg);
        Tensor x = ModelCases.input(c, be, "in.hidden_states");                           // (B, T, C)
        Tensor pos = ModelCases.input(c, be, "in.position_ids");                          // (B, T)
        Tensor given = ModelCases.input(c, be, "in.attention_mask");                      // (B, 1, T, T)
        Tensor mask = AttentionMask.causal(be, x.dtype(), x.dim(1), given);
        return Map.of("out.attn_output", attn.forward(x, pos, mask));
    }
}
