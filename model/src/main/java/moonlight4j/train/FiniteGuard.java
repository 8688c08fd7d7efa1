package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.model.Parameters;

import java.util.List;
import java.util.Map;

/**
 * The non-finite guard that training ({@link Trainer}) and fine-tuning ({@code SftTrainer}) share. Every step is
 * checked twice: before the update (the loss, then the gradients) and after it (the weights: with a finite loss and
 * finite gradients an update can still overflow, e.g. at a huge learning rate). A failed check throws
 * {@link NonFiniteException} naming the step and the first offending tensor in checkpoint order, before that step's
 * checkpoint or model is written, so every checkpoint on disk holds finite weights.
 */
public final class FiniteGuard {

    private FiniteGuard() {
    }

    /** Before the update: a NaN/Inf loss, or {@code nonFiniteGradient} (a parameter name, null if none), stops. */
    public static void beforeUpdate(int step, double loss, String nonFiniteGradient) {
        if (!Double.isFinite(loss)) throw new NonFiniteException(step, "loss " + loss);
        if (nonFiniteGradient != null) throw new NonFiniteException(step, "gradient of " + nonFiniteGradient);
    }

    /** After the update: the first of {@code weights} holding a NaN/Inf stops, named with the step. */
    public static void afterUpdate(Backend be, int step, Parameters weights) {
        String bad = firstNonFinite(be, weights.names(), weights.asMap());
        if (bad != null) throw new NonFiniteException(step, "weight " + bad + " after the update");
    }

    /** The first of {@code order} whose tensor in {@code tensors} holds a NaN/Inf (absent ones skipped), or null. */
    public static String firstNonFinite(Backend be, List<String> order, Map<String, Tensor> tensors) {
        for (String name : order) {
            Tensor t = tensors.get(name);
            if (t != null && !be.allFinite(t)) return name;
        }
        return null;
    }
}
