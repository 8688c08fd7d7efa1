package moonlight4j.nd4j;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link Tensor} held by an ND4J {@link INDArray}: either one it owns alone (never a view), so {@link #close()}
 * frees the off-heap (or device) buffer at once, or one over a pooled host buffer ({@link NativeMemory}) that it
 * holds with others (a reshape) and gives back to the pool on close or when collected. BF16 tensors are held as an
 * ND4J FLOAT array whose every element is bf16-exact (see {@link Bf16}); F32 → FLOAT, F64 → DOUBLE, I32 → INT,
 * I64 → LONG.
 */
final class Nd4jTensor implements Tensor {

    private final Nd4jDataOps backend;
    private final DType dtype;
    private final int[] shape;
    private INDArray array;
    private final java.lang.ref.Cleaner.Cleanable counted;
    /** Gives the pooled buffer back once ({@link NativeMemory}): on close, or when the tensor is collected. */
    private final java.lang.ref.Cleaner.Cleanable pooled;

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    Nd4jTensor(Nd4jDataOps backend, DType dtype, int[] shape, INDArray array) {
        this.backend = backend;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.array = array;
        this.counted = backend.live.track(this);
        NativeMemory.Block block = NativeMemory.hold(array);
        this.pooled = block == null ? null : CLEANER.register(this, () -> NativeMemory.release(block));
        TensorScope.track(this);
    }

    /** The owned array; an error after {@link #close()}. */
    INDArray array() {
        INDArray a = array;
        if (a == null) {
            throw new IllegalStateException("nd4j: " + dtype + " tensor " + Shapes.str(shape) + " used after close()");
        }
        return a;
    }

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
    public synchronized void close() {
        if (array != null) {
            if (pooled != null) pooled.clean();   // the buffer may be shared (reshape) or reused: never close it
            else array.close();
            array = null;
            counted.clean();
        }
    }

    @Override
    public String toString() {
        return "Nd4jTensor" + Shapes.str(shape) + " " + dtype + (array == null ? " (closed)" : "");
    }
}
