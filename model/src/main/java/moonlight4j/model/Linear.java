package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/** {@code nn.Linear} without bias, as every projection in the release: {@code y = x·Wᵀ}. */
final class Linear {

    private Linear() {
    }

    /**
     * {@code y_{..., o} = Σ_i x_{..., i} · W_{o, i}}: x {@code [..., in]}, W {@code [out, in]} (HF layout) →
     * {@code [..., out]}. Allocates y.
     */
    static Tensor forward(Backend be, Tensor x, Tensor w) {
        int[] s = x.shape();
        int in = s[s.length - 1];
        int out = w.dim(0);
        if (s.length == 2) return be.matmul(x, w, false, true);
        int rows = (int) (x.numel() / in);
        // reshape views may share storage with their source, so they are never closed here
        Tensor y2 = be.matmul(be.reshape(x, rows, in), w, false, true);   // (N, out)
        int[] ys = s.clone();
        ys[ys.length - 1] = out;
        return be.reshape(y2, ys);                                         // (..., out)
    }

    /**
     * Backward of {@link #forward}: {@code dW = dyᵀ·x} (summed over every leading position) is accumulated into
     * {@code grads[name]}, and {@code dx = dy·W} is returned. dy {@code [..., out]}, x {@code [..., in]}.
     */
    static Tensor backward(Backend be, Tensor dy, Tensor x, Tensor w, String name, Grads grads) {
        int[] s = x.shape();
        int in = s[s.length - 1];
        int out = w.dim(0);
        int rows = (int) (x.numel() / in);
        Tensor dy2 = be.reshape(dy, rows, out);                            // (N, out)
        Tensor x2 = be.reshape(x, rows, in);                               // (N, in)
        grads.accumulate(be, name, be.matmul(dy2, x2, true, false));       // (out, in)
        Tensor dx2 = be.matmul(dy2, w, false, false);                      // (N, in)
        return be.reshape(dx2, s);                                         // (..., in)
    }
}
