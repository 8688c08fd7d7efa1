package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;

/**
 * A row-major, contiguous tensor on the Java heap. Storage by dtype: F32 and BF16 in {@code float[] f} (a BF16
 * tensor holds only bf16-representable values, rounded after every op), F64 in {@code double[] d}, I32 and I64 in
 * {@code long[] l} (I32 values range-checked on entry). Exactly one of the three arrays is non-null.
 *
 * <p>{@link #at}/{@link #put} are the element accessors the kernels use: {@code at} widens exactly to double,
 * {@code put} rounds to the dtype (F32: nearest float; BF16: nearest float, then nearest bf16 — PyTorch's
 * double → float → bf16 conversion; F64: as is).
 */
final class CpuTensor implements Tensor {

    private final CpuDataOps backend;
    private final int[] shape;
    private final DType dtype;
    final int n;
    final float[] f;
    final double[] d;
    final long[] l;
    private volatile boolean closed;
    private final java.lang.ref.Cleaner.Cleanable counted;

    private CpuTensor(CpuDataOps backend, DType dtype, int[] shape, float[] f, double[] d, long[] l) {
        this.backend = backend;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.n = Shapes.numelInt(shape);
        this.f = f;
        this.d = d;
        this.l = l;
        this.counted = backend.live.track(this);
        TensorScope.track(this);
    }

    /** A zero tensor. */
    static CpuTensor zeros(CpuDataOps be, DType dtype, int... shape) {
        int n = Shapes.numelInt(shape);
        return switch (dtype) {
            case F32, BF16 -> new CpuTensor(be, dtype, shape, new float[n], null, null);
            case F64 -> new CpuTensor(be, dtype, shape, null, new double[n], null);
            case I32, I64 -> new CpuTensor(be, dtype, shape, null, null, new long[n]);
        };
    }

    /** A tensor wrapping {@code f} without copying (F32 or BF16; BF16 values must already be bf16). */
    static CpuTensor wrapFloats(CpuDataOps be, DType dtype, float[] f, int... shape) {
        return new CpuTensor(be, dtype, shape, f, null, null);
    }

    static CpuTensor wrapDoubles(CpuDataOps be, double[] d, int... shape) {
        return new CpuTensor(be, DType.F64, shape, null, d, null);
    }

    static CpuTensor wrapLongs(CpuDataOps be, DType dtype, long[] l, int... shape) {
        return new CpuTensor(be, dtype, shape, null, null, l);
    }

    /** A tensor of another shape sharing this storage. */
    CpuTensor view(int... newShape) {
        return new CpuTensor(backend, dtype, newShape, f, d, l);
    }

    /**
     * {@code t} as a CpuTensor, or an error: a tensor of another backend names both backends; a closed tensor is an
     * {@link IllegalStateException}.
     */
    static CpuTensor of(String op, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": tensor is null");
        if (!(t instanceof CpuTensor c)) {
            String owner = t.backend() == null ? "(none)" : "'" + t.backend().name() + "'";
            throw new IllegalArgumentException(op + ": tensor " + Shapes.str(t.shape()) + " " + t.dtype()
                    + " belongs to backend " + owner + ", not 'cpu'; copy it across with toFloats/fromFloats");
        }
        if (c.closed) {
            throw new IllegalStateException(op + ": tensor " + Shapes.str(c.shape) + " " + c.dtype + " is closed");
        }
        return c;
    }

    // ------------------------------------------------------------------ element access

    /** Element i widened exactly to double. */
    double at(int i) {
        return f != null ? f[i] : d != null ? d[i] : l[i];
    }

    /** Stores {@code v} at i rounded to this dtype. */
    void put(int i, double v) {
        switch (dtype) {
            case F32 -> f[i] = (float) v;
            case BF16 -> f[i] = Bf16.round((float) v);
            case F64 -> d[i] = v;
            default -> l[i] = (long) v;
        }
    }

    /** {@code v} rounded to this tensor's storage dtype (F64: unchanged). */
    double round(double v) {
        return Precision.store(dtype, v);
    }

    int[] shapeRef() {
        return shape;
    }

    // ------------------------------------------------------------------ Tensor

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public int rank() {
        return shape.length;
    }

    @Override
    public long numel() {
        return n;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            counted.clean();
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "CpuTensor" + Shapes.str(shape) + " " + dtype + (closed ? " (closed)" : "");
    }
}
