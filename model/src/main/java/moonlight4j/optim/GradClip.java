package moonlight4j.optim;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.Map;

/**
 * Global-norm clipping as {@code torch.nn.utils.clip_grad_norm_}: {@code n = √(Σ_p ‖g_p‖²)}; when
 * {@code n > max}, every gradient is scaled by {@code max / (n + 1e-6)}. A non-finite n (a NaN or ±∞ element) is
 * returned and the gradients are left as they are, so the caller's non-finite check can name the parameter; torch
 * would scale them by NaN, or by 0 for n = ∞, which silently zeroes the finite ones.
 */
public final class GradClip {

    private GradClip() {
    }

    /** The global L2 norm of the gradients (grad-None parameters are simply absent). */
    public static double globalNorm(Backend be, Map<String, Tensor> grads) {
        double s = 0;
        for (Tensor g : grads.values()) s += Norms.sumSquares(be, g);
        return Math.sqrt(s);
    }

    /** Clips in place when {@code maxNorm > 0}; returns the norm before clipping. */
    public static double clip(Backend be, Map<String, Tensor> grads, double maxNorm) {
        double n = globalNorm(be, grads);
        if (maxNorm > 0 && n > maxNorm && Double.isFinite(n)) {
            double f = maxNorm / (n + 1e-6);
            for (Tensor g : grads.values()) be.scaleInPlace(g, f);
        }
        return n;
    }
}
