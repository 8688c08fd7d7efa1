package moonlight4j.nd4j;

import moonlight4j.api.DType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Copies between Java arrays and ND4J arrays, and the dtype mapping. */
final class HostArrays {

    private HostArrays() {
    }

    /** ND4J storage type of a dtype: BF16 is held as bf16-exact FLOAT (see {@link Bf16}). */
    static DataType storage(DType d) {
        return switch (d) {
            case F32, BF16 -> DataType.FLOAT;
            case F64 -> DataType.DOUBLE;
            case I32 -> DataType.INT;
            case I64 -> DataType.LONG;
        };
    }

    static long[] longs(int[] shape) {
        long[] l = new long[shape.length];
        for (int i = 0; i < shape.length; i++) l[i] = shape[i];
        return l;
    }

    static int[] ints(long[] shape) {
        int[] s = new int[shape.length];
        for (int i = 0; i < shape.length; i++) s[i] = Math.toIntExact(shape[i]);
        return s;
    }

    static INDArray create(float[] data, long[] shape) {
        return Nd4j.create(data, shape, DataType.FLOAT);
    }

    static INDArray create(double[] data, long[] shape) {
        return Nd4j.create(data, shape, DataType.DOUBLE);
    }

    static INDArray create(int[] data, long[] shape) {
        return Nd4j.create(data, shape, DataType.INT);
    }

    static INDArray create(long[] data, long[] shape) {
        return Nd4j.create(data, shape, DataType.LONG);
    }

    /**
     * True when {@code a}'s elements are exactly its data buffer's, in row-major order from the first: 'c' order,
     * offset 0, row-major strides, and a buffer as long as the array. Host loops address such an array's native
     * memory by element index. A pooled result shorter than its pooled buffer is one: its data buffer is a view of
     * the first elements ({@link NativeMemory}), which ND4J calls a view but which starts where the array starts.
     */
    static boolean coversItsBuffer(INDArray a) {
        return a.ordering() == 'c' && a.offset() == 0 && a.data().length() == a.length()
                && NativeMemory.denseRowMajor(a);
    }

    /** A c-ordered array covering its whole buffer ({@link #coversItsBuffer}): {@code a} itself or a copy. */
    private static INDArray dense(INDArray a) {
        return coversItsBuffer(a) ? a : a.dup('c');
    }

    static float[] floats(INDArray a) {
        if (a.isEmpty()) return new float[0];
        INDArray d = dense(a);
        float[] f = d.data().asFloat();
        if (d != a) d.close();
        return f;
    }

    static double[] doubles(INDArray a) {
        if (a.isEmpty()) return new double[0];
        INDArray d = dense(a);
        double[] f = d.data().asDouble();
        if (d != a) d.close();
        return f;
    }

    static long[] longValues(INDArray a) {
        if (a.isEmpty()) return new long[0];
        INDArray d = dense(a);
        long[] f = d.data().asLong();
        if (d != a) d.close();
        return f;
    }
}
