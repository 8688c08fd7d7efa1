package moonlight4j.train;

import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.ParameterCounts;

/**
 * The model FLOP of one training step, the count MFU is measured against (the convention of PaLM, Chowdhery et al.
 * 2022, appendix B: work the model needs, not work an implementation happens to do).
 *
 * <pre>
 *   N      = weights of the matrix products one token goes through: the activated non-embedding parameters
 *            (dense and shared weights, k of the E routed experts of each MoE layer, the router) plus lm_head
 *            (V·C, a product even when tied); not the embedding table, which is a row lookup
 *   forward, per token:   2·N                       one multiply and one add per weight
 *                       + L·2·S·H·(d_qk + d_v)      attention scores Q·Kᵀ (d_qk = qk_nope + qk_rope) and P·V over
 *                                                   the S positions of the sequence, per layer and head
 *   backward, per token:  2 × forward               each product's gradient w.r.t. its input and its weight
 *   step = tokens · (6·N + 6·L·S·H·(d_qk + d_v))
 * </pre>
 * Attention is counted over the whole S×S score matrix, as PaLM does (the causal half would be 3·L·S·H·(…)); at S
 * = 128 it is 1.7% of the small preset's step. Norms, activations, softmax, RoPE and the optimizer are not counted.
 *
 * @param matmulWeights N
 * @param perToken      6·N + attention, FLOP per token of a training step
 * @param tokens        tokens per step (batch · seq)
 */
public record TrainingFlops(long matmulWeights, double perToken, long tokens) {

    public static TrainingFlops of(MoonlightConfig c, int batch, int seq) {
        long n = ParameterCounts.of(c).activatedNonEmbedding() + (long) c.vocabSize() * c.hiddenSize();
        double attention = 6.0 * c.numHiddenLayers() * seq * c.numAttentionHeads()
                * (c.qkNopeHeadDim() + c.qkRopeHeadDim() + c.vHeadDim());
        return new TrainingFlops(n, 6.0 * n + attention, (long) batch * seq);
    }

    /** Model FLOP of one step. */
    public double perStep() {
        return perToken * tokens;
    }

    /** The attention share of {@link #perStep()}. */
    public double attentionPerStep() {
        return (perToken - 6.0 * matmulWeights) * tokens;
    }
}
