package moonlight4j.api;

import java.nio.ByteBuffer;
import java.util.Set;

/**
 * The ops that the model and the optimizers need, no more. Every op validates its arguments with {@link Shapes}
 * (one shared check, so every backend fails alike) and names itself in its error messages.
 *
 * <p><b>Conventions.</b> Shapes are row-major. Unless stated otherwise an op <em>allocates</em> a new tensor in the
 * dtype of its (floating) inputs, which must share one dtype; ops ending in {@code InPlace} modify their first
 * argument and allocate nothing. Scalars passed as {@code double} are first converted to the tensor's dtype
 * (PyTorch's rule: a Python scalar is cast to the tensor dtype, so for BF16 the scalar is rounded to bf16).
 *
 * <p><b>Precision.</b> F32: fp32 arithmetic. BF16: inputs widened to fp32, computed in fp32 (sums and dot products
 * accumulate in fp32), result rounded once to bf16 with round-to-nearest-even. F64: fp64 arithmetic, used for
 * gradient checks. Reductions of F32/BF16 accumulate in fp32; backends document their summation order, the oracle
 * sums in index order (matmul: k = 0, 1, ..., K−1), so its results do not depend on the thread count.
 *
 * <p>A backend that cannot run an op for a dtype throws {@link UnsupportedOperationException} naming both; it never
 * computes in another precision silently, and never falls back to another backend.
 */
public interface Backend {

    // =============================================================== identity

    /** The name used with {@code --backend}. */
    String name();

    /** The device in words (CPU model and threads, or GPU name and memory). */
    String device();

    /** Dtypes this backend supports, with how (e.g. "BF16 storage, fp32 compute, RNE rounding per op"). */
    Set<DType> dtypes();

    /** One line per dtype saying how it is computed on this backend. */
    String dtypeNotes();

    /**
     * Tensors of this backend created and neither closed nor garbage-collected, views included ({@link LiveTensors};
     * for leak tests: once the collector has run, a training step inside a {@link TensorScope} leaves this number as
     * it found it).
     */
    long liveTensors();

    // =============================================================== creation and transfer (all allocate)

    /** A tensor of zeros. */
    Tensor zeros(DType dtype, int... shape);

    /** A tensor filled with {@code value} (converted to {@code dtype}). */
    Tensor full(DType dtype, double value, int... shape);

    /** F32 tensor holding a copy of {@code data} (row-major, length = numel). */
    Tensor fromFloats(float[] data, int... shape);

    /** F64 tensor holding a copy of {@code data}. */
    Tensor fromDoubles(double[] data, int... shape);

    /** BF16 tensor from raw bf16 bit patterns (the top 16 bits of an fp32). */
    Tensor fromBf16Bits(short[] bits, int... shape);

    /** I32 tensor. */
    Tensor fromInts(int[] data, int... shape);

    /** I64 tensor. */
    Tensor fromLongs(long[] data, int... shape);

    /**
     * A tensor of {@code dtype} read from {@code data}: numel·byteSize little-endian bytes from its position (the
     * buffer's position is not changed). Used to read a mapped safetensors file without an intermediate array.
     */
    Tensor fromBuffer(ByteBuffer data, DType dtype, int... shape);

    /** Writes the tensor's elements as little-endian bytes at {@code out}'s position, advancing it. */
    void writeTo(Tensor t, ByteBuffer out);

    /** Elements of an F32 or BF16 tensor as floats (exact); an F64 tensor is rounded to float. */
    float[] toFloats(Tensor t);

    /** Elements of any tensor as doubles (exact for every dtype except I64 beyond 2^53). */
    double[] toDoubles(Tensor t);

    /** Raw bit patterns of a BF16 tensor. */
    short[] toBf16Bits(Tensor t);

    /** Elements of an I32 or I64 tensor as longs. */
    long[] toLongs(Tensor t);

    /** The single element of a tensor with numel 1, as a double. */
    double item(Tensor t);

    /** A copy in {@code dtype}; floating → BF16 rounds to nearest even; floating → integer is rejected. */
    Tensor cast(Tensor t, DType dtype);

    /** A copy. */
    Tensor copy(Tensor t);

    /**
     * The same elements in row-major order with a new shape (one dimension may be {@code -1}). The result may share
     * storage with {@code x}: do not update either in place while the other is in use.
     */
    Tensor reshape(Tensor x, int... shape);

    /** A copy with axes permuted: output dimension i is input dimension {@code axes[i]}. */
    Tensor permute(Tensor x, int... axes);

    /** A copy with the last two dimensions swapped. */
    default Tensor transpose(Tensor x) {
        int r = x.rank();
        if (r < 2) throw new IllegalArgumentException("transpose: expected rank ≥ 2, got " + Shapes.str(x.shape()));
        int[] axes = new int[r];
        for (int i = 0; i < r; i++) axes[i] = i;
        axes[r - 2] = r - 1;
        axes[r - 1] = r - 2;
        return permute(x, axes);
    }

    /** A copy of indices {@code [from, to)} along {@code axis} (negative counts from the end). */
    Tensor slice(Tensor x, int axis, int from, int to);

    /** Concatenation along {@code axis}; all parts share dtype and the other dimensions. */
    Tensor concat(int axis, Tensor... parts);

    // =============================================================== linear algebra

    /**
     * {@code c = op(a)·op(b)}, {@code c_mn = Σ_k op(a)_mk · op(b)_kn}, where op transposes the last two dims when
     * the flag is set. Shapes: a {@code [M,K]} and b {@code [K,N]} → {@code [M,N]}; a {@code [B,M,K]} with b
     * {@code [B,K,N]} or {@code [K,N]} (shared) → {@code [B,M,N]}. Same floating dtype; F32/BF16 accumulate in fp32,
     * BF16 rounds each c_mn once. Allocates c.
     */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);

    // =============================================================== elementwise (broadcasting, allocate)

    /** {@code a + b}, numpy broadcasting, same floating dtype. */
    Tensor add(Tensor a, Tensor b);

    /** {@code a − b}. */
    Tensor sub(Tensor a, Tensor b);

    /** {@code a ⊙ b}. */
    Tensor mul(Tensor a, Tensor b);

    /** {@code a / b}. */
    Tensor div(Tensor a, Tensor b);

    /** {@code x + s}, s converted to x's dtype first. */
    Tensor addScalar(Tensor x, double s);

    /** {@code s · x}, s converted to x's dtype first. */
    Tensor mulScalar(Tensor x, double s);

    /** {@code √x}. */
    Tensor sqrt(Tensor x);

    /** {@code eˣ}. */
    Tensor exp(Tensor x);

    /** {@code ln x}. */
    Tensor log(Tensor x);

    /** {@code σ(x) = 1 / (1 + e^−x)}. */
    Tensor sigmoid(Tensor x);

    /** {@code dx = dy ⊙ y ⊙ (1 − y)} where {@code y = σ(x)}; takes y (the forward output), same shapes. */
    Tensor sigmoidBackward(Tensor y, Tensor dy);

    /** {@code silu(x) = x · σ(x)}. */
    Tensor silu(Tensor x);

    /** {@code dx = dy ⊙ σ(x) ⊙ (1 + x ⊙ (1 − σ(x)))}; takes the forward input x, same shapes. */
    Tensor siluBackward(Tensor x, Tensor dy);

    /**
     * {@code lerp(a, b, w) = a + w·(b − a)}, evaluated as PyTorch does: {@code a + w·(b − a)} when |w| &lt; 0.5,
     * else {@code b − (b − a)·(1 − w)}. Same shapes.
     */
    Tensor lerp(Tensor a, Tensor b, double w);

    // =============================================================== reductions (allocate)

    /** Sum over {@code axis} (removed from the shape), in index order. */
    Tensor sum(Tensor x, int axis);

    /** Sum of all elements as a scalar {@code []} tensor. */
    Tensor sumAll(Tensor x);

    /** {@code Σ x²} over all elements as a scalar tensor (fp32 accumulation in element order for F32/BF16). */
    Tensor sumSquares(Tensor x);

    /**
     * Frobenius norm {@code ‖x‖_F = √(Σ x²)} as a scalar tensor: the sum of squares accumulated in fp32 in element
     * order (fp64 for F64), square root, then one rounding to x's dtype (golden-data/FORMAT.md §3.1).
     */
    Tensor frobeniusNorm(Tensor x);

    /**
     * The Frobenius norm of each matrix of a stack: x {@code [..., M, N]} (rank ≥ 2) → {@code [..., 1, 1]}, each
     * element exactly {@link #frobeniusNorm} of that matrix (same accumulation order and rounding), so a batch of
     * matrices is normalised with one broadcasting {@link #div}.
     */
    default Tensor frobeniusNorms(Tensor x) {
        Shapes.checkFloating("frobeniusNorms", x);
        int r = x.rank();
        if (r < 2) throw new IllegalArgumentException("frobeniusNorms: expected rank ≥ 2, got " + Shapes.str(x.shape()));
        int[] shape = x.shape(), out = shape.clone();
        out[r - 2] = 1;
        out[r - 1] = 1;
        int batch = Shapes.numelInt(out);
        if (batch == 0) return zeros(x.dtype(), out);
        Tensor[] norms = new Tensor[batch];
        try (Tensor flat = reshape(x, batch, shape[r - 2], shape[r - 1])) {
            for (int i = 0; i < batch; i++) {
                try (Tensor xi = slice(flat, 0, i, i + 1); Tensor norm = frobeniusNorm(xi)) {
                    norms[i] = reshape(norm, 1);
                }
            }
            try (Tensor cat = concat(0, norms)) {
                return reshape(cat, out);
            }
        } finally {
            for (Tensor t : norms) if (t != null) t.close();
        }
    }

    /** Largest element as a scalar tensor (NaN if any element is NaN). */
    Tensor maxAll(Tensor x);

    /** True when no element is NaN or infinite. */
    boolean allFinite(Tensor x);

    // =============================================================== layers with a fused forward/backward

    /**
     * RMSNorm as the release computes it (docs/model.md#rmsnorm):
     * {@code y = w ⊙ cast_x(x_f32 · rsqrt(mean(x_f32²) + eps))} over the last axis. x {@code [..., C]}, w {@code [C]},
     * same dtype. Allocates y.
     */
    Tensor rmsNorm(Tensor x, Tensor w, double eps);

    /** Gradients of {@link #rmsNorm} with respect to x and w (w's gradient summed over all rows). */
    RmsNormGrads rmsNormBackward(Tensor x, Tensor w, double eps, Tensor dy);

    /** Softmax over the last axis, computed in fp32 for F32/BF16 (max-subtracted), rounded to x's dtype. */
    Tensor softmax(Tensor x);

    /** {@code dx = y ⊙ (dy − Σ_last(dy ⊙ y))} where y is the softmax output. */
    Tensor softmaxBackward(Tensor y, Tensor dy);

    /**
     * Rotary position embedding as the release's HF code applies it (docs/model.md#rope-layout). x {@code [B, H, S, D]} holds the
     * rope dims in the checkpoint's <em>interleaved</em> pair order; the output is in the HF half-split order:
     * first de-interleave (evens, then odds), then {@code y = x·cos + rotate_half(x)·sin} with
     * {@code cos/sin = cat(f, f)}, {@code f_j = t·inv_freq_j}, {@code t = pos}, {@code inv_freq_j = θ^(−2j/D)}
     * computed in fp32. The tables are built in x's dtype, as the release builds them after
     * {@code model.to(dtype)}: inv_freq, t, f, cos f and sin f are each stored in the dtype (BF16: five bf16
     * roundings; F32: fp32 throughout). Each product with cos/sin and their sum are rounded to the dtype.
     * positionIds {@code [B, S]} (I64 or I32). Allocates y.
     */
    Tensor rope(Tensor x, Tensor positionIds, double theta);

    /** The gradient of {@link #rope}: dy in half-split order → dx in interleaved order (rotation by −angle). */
    Tensor ropeBackward(Tensor dy, Tensor positionIds, double theta);

    /**
     * Row gather {@code y[..., :] = table[ids[...], :]}: table {@code [V, C]}, ids any shape (I64/I32) →
     * {@code [...ids, C]}. An id outside {@code [0, V)} is an error naming it.
     */
    Tensor embedding(Tensor table, Tensor ids);

    /** Scatter-add of {@code dy [...ids, C]} into a new zero {@code [vocab, C]} tensor at rows ids, in index order. */
    Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab);

    /** The k largest values of the last axis, descending, ties to the lower index; indices are I64. */
    TopK topk(Tensor x, int k);

    /** {@code y[m, :] = x[idx[m], :]}: x {@code [N, C]}, idx {@code [M]} → {@code [M, C]}. */
    Tensor gatherRows(Tensor x, Tensor idx);

    /** {@code target[idx[m], :] += src[m, :]} for m = 0..M−1 in order. Modifies target; allocates nothing. */
    void indexAddInPlace(Tensor target, Tensor idx, Tensor src);

    /** {@code y[..., j] = x[..., idx[..., j]]}: x {@code [..., E]}, idx {@code [..., k]} → {@code [..., k]}. */
    Tensor gatherLastDim(Tensor x, Tensor idx);

    /** The gradient of {@link #gatherLastDim}: a zero {@code [..., size]} tensor with {@code dy} added at idx. */
    Tensor scatterAddLastDim(Tensor dy, Tensor idx, int size);

    /**
     * Sum over rows of the cross-entropy {@code −log softmax(logits_n)[t_n]}, rows with {@code t_n == ignoreIndex}
     * skipped; logits {@code [N, V]}, targets {@code [N]}. Returns a scalar of logits' dtype (fp32 log-softmax per
     * row for F32/BF16). A target outside {@code [0, V)} that is not ignoreIndex is an error. The mean loss is this
     * sum divided by the number of non-ignored rows (a caller's choice, so data-parallel training can divide by the
     * global count).
     */
    Tensor crossEntropySum(Tensor logits, Tensor targets, long ignoreIndex);

    /** {@code scale · (softmax(logits_n) − onehot(t_n))} per row, zero rows where ignored. Allocates. */
    Tensor crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, double scale);

    // =============================================================== in-place updates (optimizers), allocate nothing

    /** {@code dst ← src} (src widened or rounded to dst's dtype); same shape. */
    void copyInto(Tensor dst, Tensor src);

    /** {@code p ← s·p}. */
    void scaleInPlace(Tensor p, double s);

    /** {@code p ← p + α·u}; u may be of another floating dtype (widened), the result rounds to p's dtype. */
    void axpyInPlace(Tensor p, double alpha, Tensor u);

    /** {@code a ← lerp(a, b, w)} with the formula of {@link #lerp}. */
    void lerpInPlace(Tensor a, Tensor b, double w);

    // =============================================================== fused optimizer updates, allocate nothing
    // Each is defined as the sequence of the ops above that its default runs, with every intermediate rounded to
    // the tensor's dtype where that op rounds; a backend may fuse the sequence into one pass over the elements but
    // must give the same result (the oracle: the same bits).

    /** {@code p ← s·p}, then {@code p ← p + α·u}: {@link #scaleInPlace} followed by {@link #axpyInPlace}. */
    default void scaleAxpyInPlace(Tensor p, double s, double alpha, Tensor u) {
        FusedOps.scaleAxpy(this, p, s, alpha, u);
    }

    /**
     * Heavy-ball momentum {@code buf ← μ·buf + g} ({@code scaleInPlace(buf, μ); axpyInPlace(buf, 1, g)}), then, when
     * {@code nesterov} is not null, {@code nesterov ← g + μ·buf} with the updated buf ({@code copyInto(nesterov, g);
     * axpyInPlace(nesterov, μ, buf)}). All tensors share shape and dtype.
     */
    default void momentumInPlace(Tensor buf, Tensor g, double mu, Tensor nesterov) {
        FusedOps.momentum(this, buf, g, mu, nesterov);
    }

    /**
     * One Adam update in place on p, m and v (same shape and dtype as g), as this sequence of ops:
     * <pre>
     *   p ← decay·p                                      scaleInPlace
     *   m ← lerp(m, g, 1 − β1)                           lerpInPlace
     *   v ← lerp(v, g⊙g, 1 − β2)                         mul, lerpInPlace           (lerpSecondMoment)
     *     | v ← β2·v;  v ← v + (1 − β2)·(g⊙g)            scaleInPlace, mul, axpyInPlace  (otherwise)
     *   d = m / ((√v)·denomScale + eps)                  sqrt, mulScalar, addScalar, div
     *   p ← p − stepSize·d                               axpyInPlace
     * </pre>
     * Returns {@code Σ d²} accumulated at the compute precision (fp32 for F32/BF16) in element order, not rounded to
     * the dtype. {@code denomScale} of exactly 1 is the identity (multiplying by 1 rounds nothing).
     */
    default double adamUpdateInPlace(Tensor p, Tensor g, Tensor m, Tensor v, AdamUpdate u) {
        return FusedOps.adam(this, p, g, m, v, u);
    }

    // =============================================================== fused element-wise ops, one fresh result
    // Defined, as the updates above, by the sequence of ops their default runs; a backend may fuse it into one pass
    // but must give the same result (the oracle: the same bits).

    /**
     * {@code s·x + y}: {@link #mulScalar} then {@link #add}, the product rounded to the dtype before the sum (the
     * {@code b·A + (c·A)·A} and {@code a·X + B·X} of Newton–Schulz). x and y share shape and dtype; a fresh tensor.
     */
    default Tensor scaleAdd(Tensor x, double s, Tensor y) {
        return FusedOps.scaleAdd(this, x, s, y);
    }

    /**
     * SwiGLU's gated product {@code silu(g) ⊙ u}: {@link #silu}, then {@link #mul}. g and u share shape and dtype;
     * a fresh tensor.
     */
    default Tensor swiglu(Tensor g, Tensor u) {
        return FusedOps.swiglu(this, g, u);
    }

    /**
     * Backward of {@link #swiglu} for the gradient dh of its result: {@code a = silu(g)}, {@code da = dh ⊙ u},
     * {@code du = dh ⊙ a}, {@code dg = siluBackward(g, da)} ({@link #silu}, {@link #mul}, {@link #siluBackward}).
     * Fresh tensors the caller closes.
     */
    default SwiGluGrads swigluBackward(Tensor g, Tensor u, Tensor dh) {
        return FusedOps.swigluBackward(this, g, u, dh);
    }
}
