/**
 * The optimizers of the paper and the release, one file per idea, each held against the paper's equations
 * (docs/muon.md, which puts each equation next to its method here).
 *
 * <p>Reading order: {@link moonlight4j.optim.NsCoefficients} → {@link moonlight4j.optim.NewtonSchulz} (Eq. 2, the
 * release's bf16 iteration) → {@link moonlight4j.optim.AdjustLr} (Lemma 1 and Eq. 4: {@code 0.2·√max(A,B)}) →
 * {@link moonlight4j.optim.MuonRule} (momentum, the decayed scaled update and the internal AdamW as pure functions,
 * shared with {@code moonlight4j.dist.DistributedMuon}) → {@link moonlight4j.optim.ParamSplit} (which parameter
 * goes to Muon) → {@link moonlight4j.optim.Optimizer} (the step contract, grad-None semantics) →
 * {@link moonlight4j.optim.Muon} (one step over a parameter map) → {@link moonlight4j.optim.AdamW} (torch's AdamW,
 * the baseline) → {@link moonlight4j.optim.OptimizerState} (slots and the state dict) and
 * {@link moonlight4j.optim.SingularValues} (fp64 singular values of a small matrix, to watch Newton-Schulz work).
 * {@code moonlight explain} walks one step of these classes on a small matrix.
 */
package moonlight4j.optim;
