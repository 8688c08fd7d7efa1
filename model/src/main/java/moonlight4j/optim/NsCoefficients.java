package moonlight4j.optim;

import java.util.Collections;
import java.util.List;

/**
 * The coefficients of one quintic Newton–Schulz iteration {@code X ← a·X + b·(XXᵀ)X + c·(XXᵀ)²X} (paper Eq. 2).
 *
 * <p>The release uses {@link #MUON} for every iteration (docs/muon.md#newton-schulz). They are chosen to push small
 * singular values up fast, not to converge: the iteration maps singular values into roughly [0.68, 1.14] instead of
 * onto 1, "which turns out not to hurt" (Keller Jordan). Other schedules, e.g. Polar Express, give different
 * coefficients per iteration; {@link NewtonSchulz} takes a list.
 */
public record NsCoefficients(double a, double b, double c) {

    /** (3.4445, −4.7750, 2.0315): the coefficients of the release's {@code zeropower_via_newtonschulz5}. */
    public static final NsCoefficients MUON = new NsCoefficients(3.4445, -4.7750, 2.0315);

    /** {@code c} repeated {@code steps} times: the schedule of a fixed-coefficient iteration. */
    public static List<NsCoefficients> repeat(NsCoefficients c, int steps) {
        if (steps < 0) throw new IllegalArgumentException("Newton–Schulz steps must be ≥ 0, got " + steps);
        return Collections.nCopies(steps, c);
    }
}
