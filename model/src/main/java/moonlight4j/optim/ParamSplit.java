package moonlight4j.optim;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.Map;

/**
 * Which parameters Muon updates and which go to its internal AdamW.
 *
 * <p>The release rule ({@code get_optimizer}, docs/muon.md#parameter-split): a parameter goes to Muon iff it has
 * {@code ndim ≥ 2} and its name contains neither {@code embed_tokens} nor {@code lm_head}. So hidden matrices
 * (attention projections, MLP and expert weights, the router weight) use Muon; embeddings, the output head, norms,
 * biases and {@code e_score_correction_bias} use AdamW.
 */
@FunctionalInterface
public interface ParamSplit {

    /** True when the parameter {@code name} of shape {@code shape} is updated by Muon. */
    boolean useMuon(String name, int[] shape);

    /** The release rule of {@code get_optimizer} (docs/muon.md#parameter-split). */
    ParamSplit RELEASE = ParamSplit::release;

    /** docs/muon.md#parameter-split: {@code ndim ≥ 2 and "embed_tokens" not in name and "lm_head" not in name}. */
    static boolean release(String name, int[] shape) {
        return shape.length >= 2 && !name.contains("embed_tokens") && !name.contains("lm_head");
    }

    /**
     * A one-line summary like nanoGPT's {@code configure_optimizers}: how many tensors and elements go to each side.
     */
    default String describe(Map<String, Tensor> params) {
        long muonTensors = 0, muonNumel = 0, adamTensors = 0, adamNumel = 0;
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            int[] s = e.getValue().shape();
            if (useMuon(e.getKey(), s)) {
                muonTensors++;
                muonNumel += Shapes.numel(s);
            } else {
                adamTensors++;
                adamNumel += Shapes.numel(s);
            }
        }
        return String.format("Muon: %d tensors, %,d parameters; AdamW: %d tensors, %,d parameters",
                muonTensors, muonNumel, adamTensors, adamNumel);
    }
}
