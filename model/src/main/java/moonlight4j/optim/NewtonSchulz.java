package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.List;

/**
 * Newton–Schulz orthogonalization, the release's {@code zeropower_via_newtonschulz5} (docs/muon.md#newton-schulz):
 *
 * <pre>
 *   X = cast(G)                       bf16 in the release (fp32 option: the golden "ns_float" variant)
 *   if rows &gt; cols: X = Xᵀ            work on the wide side, m ≤ n
 *   X = X / (‖X‖_F + 1e-7)
 *   for (a, b, c) in schedule:        5 × (3.4445, −4.7750, 2.0315) by default
 *       A = X·Xᵀ                      (m, m)
 *       B = b·A + (c·A)·A             (m, m)   Python parses c * A @ A as (c·A)·A
 *       X = a·X + B·X                 (m, n)
 *   transpose back if transposed
 * </pre>
 *
 * <p>Every op is one SPI call ({@code s·P + Q} is {@link Backend#scaleAdd}, PyTorch's multiply and add with both
 * results rounded), so in BF16 each result is rounded exactly where PyTorch rounds it, and the scalars
 * a, b, c, 1e-7 are rounded to bf16 by the backend (golden-data/FORMAT.md §3.1). With the oracle backend this
 * reproduces the release's bf16 bits. The result (in the working dtype) approximates {@code U·Vᵀ} of
 * {@code G = U·S·Vᵀ}, with singular values in roughly [0.68, 1.14] rather than exactly 1.
 */
public final class NewtonSchulz {

    /** Added to the Frobenius norm (not its square) before dividing (docs/muon.md#newton-schulz). */
    public static final double EPS = 1e-7;

    /** Steps of the release ({@code ns_steps = 5}, docs/muon.md#defaults). */
    public static final int DEFAULT_STEPS = 5;

    private final List<NsCoefficients> schedule;
    private final DType dtype;

    /**
     * @param schedule coefficients of each iteration, in order
     * @param dtype    the working dtype: BF16 (the release) or F32 (the fp32 option)
     */
    public NewtonSchulz(List<NsCoefficients> schedule, DType dtype) {
        if (!dtype.isFloating()) {
            throw new IllegalArgumentException("Newton–Schulz needs a floating dtype, got " + dtype);
        }
        this.schedule = List.copyOf(schedule);
        this.dtype = dtype;
    }

    /** The release: 5 × {@link NsCoefficients#MUON} in BF16. */
    public static NewtonSchulz release() {
        return new NewtonSchulz(NsCoefficients.repeat(NsCoefficients.MUON, DEFAULT_STEPS), DType.BF16);
    }

    /** The same iteration in fp32 (golden "ns_float": {@code G.bfloat16()} replaced by {@code G.float()}). */
    public static NewtonSchulz fp32() {
        return release().withDtype(DType.F32);
    }

    /** This schedule in another working dtype. */
    public NewtonSchulz withDtype(DType d) {
        return new NewtonSchulz(schedule, d);
    }

    /** Another coefficient schedule in this working dtype. */
    public NewtonSchulz withSchedule(List<NsCoefficients> s) {
        return new NewtonSchulz(s, dtype);
    }

    public List<NsCoefficients> schedule() {
        return schedule;
    }

    public DType dtype() {
        return dtype;
    }

    /**
     * The orthogonalized {@code G}. G is a {@code [rows, cols]} floating tensor, or a {@code [batch, rows, cols]}
     * stack orthogonalized matrix by matrix (every op below is batched: one product per line for the whole stack,
     * each matrix normalised by its own norm), and is not modified; the result is a new tensor of G's shape in
     * {@link #dtype()} that the caller closes. A matrix of a stack gets the same result as alone (the same ops on
     * the same elements; on the oracle the same bits).
     */
    public Tensor apply(Backend be, Tensor g) {
        if (g.rank() != 2 && g.rank() != 3) {
            throw new IllegalArgumentException("Newton–Schulz expects a 2-D matrix or a [batch, rows, cols] stack, got "
                    + "shape " + Shapes.str(g.shape()));
        }
        boolean transposed = g.dim(-2) > g.dim(-1);
        Tensor x = be.cast(g, dtype);                                  // X = bf16(G)      (rows, cols)
        if (transposed) x = replace(x, be.transpose(x));              // X = Xᵀ           (m, n), m ≤ n
        try (Tensor norm = g.rank() == 2 ? be.frobeniusNorm(x)        // ‖X‖_F            [] (per matrix: [b, 1, 1])
                : be.frobeniusNorms(x);
             Tensor denom = be.addScalar(norm, EPS)) {                 // ‖X‖_F + 1e-7
            x = replace(x, be.div(x, denom));                          // X / (‖X‖ + eps)  (m, n)
        }
        for (NsCoefficients k : schedule) {
            try (Tensor a = be.matmul(x, x, false, true);              // A = X·Xᵀ         (m, m)
                 Tensor cA = be.mulScalar(a, k.c());                   // c·A              (m, m)
                 Tensor cAA = be.matmul(cA, a, false, false);          // (c·A)·A          (m, m)
                 Tensor b = be.scaleAdd(a, k.b(), cAA);                // B = b·A + cAA    (m, m)
                 Tensor bX = be.matmul(b, x, false, false)) {          // B·X              (m, n)
                x = replace(x, be.scaleAdd(x, k.a(), bX));             // X = a·X + B·X    (m, n)
            }
        }
        if (transposed) x = replace(x, be.transpose(x));              // back to (rows, cols)
        return x;
    }

    /**
     * Multiply-add FLOP of {@link #apply} on one {@code rows × cols} matrix, the three products of each step with
     * m = min(rows, cols), n = max: {@code X·Xᵀ} 2m²n, {@code (c·A)·A} 2m³, {@code B·X} 2m²n (the element-wise
     * work, O(mn) per step, is not counted).
     */
    public double flop(int rows, int cols) {
        double m = Math.min(rows, cols), n = Math.max(rows, cols);
        return schedule.size() * (4 * m * m * n + 2 * m * m * m);
    }

    /** Closes {@code old} and returns {@code next}: one live working matrix at a time. */
    private static Tensor replace(Tensor old, Tensor next) {
        old.close();
        return next;
    }

    @Override
    public String toString() {
        return "NewtonSchulz(" + schedule.size() + " steps, " + dtype + ", " + schedule.stream().distinct().toList() + ")";
    }
}
