package moonlight4j.api;

/**
 * The scalars of one fused Adam update ({@link Backend#adamUpdateInPlace}), for both Adam variants the project
 * runs: PyTorch's AdamW (second moment {@code β2·v + (1−β2)·g²}, eps added to {@code √v / √(1−β2^t)}) and Muon's
 * internal AdamW (second moment {@code lerp(v, g², 1−β2)}, eps added to the uncorrected {@code √v}: denomScale 1).
 *
 * @param decay            p is first multiplied by this ({@code 1 − lr·wd}, decoupled weight decay)
 * @param beta1            m ← lerp(m, g, 1 − β1)
 * @param beta2            second-moment decay
 * @param lerpSecondMoment true: {@code v ← lerp(v, g², 1−β2)}; false: {@code v ← β2·v; v ← v + (1−β2)·g²}
 * @param denomScale       multiplies √v before eps is added ({@code 1/√(1−β2^t)}, or exactly 1 for no scaling)
 * @param eps              added to the scaled √v
 * @param stepSize         p ← p − stepSize · m / (denomScale·√v + eps)
 */
public record AdamUpdate(double decay, double beta1, double beta2, boolean lerpSecondMoment, double denomScale,
                         double eps, double stepSize) {
}
