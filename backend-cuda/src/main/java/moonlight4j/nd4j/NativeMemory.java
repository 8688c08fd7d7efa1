package moonlight4j.nd4j;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Where the backend's op results get their memory: every fresh output array that the op writes completely comes from
 * {@link #uninitialized}, so the policy for native memory lives in one place.
 */
final class NativeMemory {

    private NativeMemory() {
    }

    /** A dense 'c'-order array of {@code shape} whose contents are undefined: the caller writes every element. */
    static INDArray uninitialized(DataType type, long... shape) {
        return Nd4j.createUninitialized(type, shape, 'c');
    }
}
