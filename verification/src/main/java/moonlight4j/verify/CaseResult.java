package moonlight4j.verify;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The verdict on one golden case.
 *
 * @param checks one per golden {@code out.*} / {@code state.*} tensor (empty when the case did not run)
 * @param notes  why it failed without tensor results (malformed file, runner error), or other remarks
 */
public record CaseResult(String name, String kind, Status status, List<TensorCheck> checks, List<String> notes,
                         long millis) {

    public enum Status {
        PASS, FAIL, NOT_IMPLEMENTED;

        @Override
        public String toString() {
            return this == NOT_IMPLEMENTED ? "not implemented" : name();
        }
    }

    public double maxAbs() {
        return checks.stream().mapToDouble(TensorCheck::maxAbs).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
    }

    public double maxRel() {
        return checks.stream().mapToDouble(TensorCheck::maxRel).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
    }

    /** The tensor closest to (or furthest beyond) its tolerance. */
    public Optional<TensorCheck> worst() {
        return checks.stream().max(Comparator.comparingDouble(TensorCheck::worstRatio));
    }

    public long bf16Mismatches() {
        return checks.stream().mapToLong(TensorCheck::bf16Mismatches).filter(n -> n >= 0).sum();
    }
}
