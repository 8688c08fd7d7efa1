/**
 * The golden verifier: runs our code on the inputs of every case the Python release produced
 * ({@code golden-data/}, specified by golden-data/FORMAT.md) and compares every output with the tolerance the case
 * carries (docs/verification.md#golden-kinds).
 *
 * <p>Reading order: {@link moonlight4j.verify.GoldenCase} (one case file) → {@link moonlight4j.verify.CaseRunner} and
 * {@link moonlight4j.verify.Runners} (one runner per kind: {@code NewtonSchulzRunner}, {@code MuonAdjustLrRunner},
 * {@code MuonStepRunner}, {@code MoeGateRunner}, {@code MoeLayerRunner}, {@code MlaAttentionRunner},
 * {@code ModelForwardRunner}, {@code ModelGradsRunner}, {@code MuonTrainRunner}, {@code GenerateGreedyRunner};
 * {@link moonlight4j.verify.LinesCaseRunner} and {@code TokenizerRunner} for JSON Lines) →
 * {@link moonlight4j.verify.Tolerance} and {@link moonlight4j.verify.ToleranceTable} (which key covers which tensor,
 * docs/verification.md#tolerances) → {@link moonlight4j.verify.TensorCheck} and {@link moonlight4j.verify.TopkPairs}
 * (the comparisons) → {@link moonlight4j.verify.Verifier} (all of it, one {@link moonlight4j.verify.CaseResult} per
 * case). {@code moonlight verify} (in {@code moonlight4j.cli}) prints the results.
 */
package moonlight4j.verify;
