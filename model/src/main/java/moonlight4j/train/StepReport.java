package moonlight4j.train;

import java.util.Map;

/**
 * What one optimizer step measured.
 *
 * @param step             1-based number of the step just taken
 * @param loss             mean training loss of the step's global batch (before the update)
 * @param lr               learning rate used
 * @param gradNorm         global gradient norm before clipping
 * @param maxAttnLogit     largest attention logit over all layers and micro-batches (docs/model.md#attention-scores)
 * @param maxLoadViolation max over MoE layers and experts of |c_i − mean c| / mean c (docs/model.md#load-balancing); 0 for dense
 * @param expertLoad       per MoE layer, selections per expert in this step
 * @param updateRms        per parameter, the RMS of the applied update (optimizer's report)
 * @param seconds          wall time of the step
 * @param forwardSeconds   of it, in the forward passes and the loss (summed over micro-batches)
 * @param backwardSeconds  of it, in the loss gradient and the backward passes
 * @param optimizerSeconds of it, in the optimizer update
 * @param nsSeconds        of the optimizer update, in Newton–Schulz (0 for AdamW)
 * @param nsFlop           multiply-add FLOP of that Newton–Schulz ({@link moonlight4j.optim.NewtonSchulz#flop})
 */
public record StepReport(int step, double loss, double lr, double gradNorm, double maxAttnLogit,
                         double maxLoadViolation, Map<Integer, long[]> expertLoad, Map<String, Double> updateRms,
                         long tokens, double seconds, double forwardSeconds,
                         double backwardSeconds, double optimizerSeconds, double nsSeconds, double nsFlop) {
}
