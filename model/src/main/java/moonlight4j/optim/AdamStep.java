package moonlight4j.optim;

/**
 * What one Adam-style update did, for the update RMS: the step size and {@code Σ direction²}. Returned by Muon's
 * internal AdamW ({@link MuonRule#adamw}) and by the baseline ({@link AdamW#update}) alike.
 */
public record AdamStep(double stepSize, double directionSumSquares) {
}
