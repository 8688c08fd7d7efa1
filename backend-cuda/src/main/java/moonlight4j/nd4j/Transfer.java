package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Byte-buffer transfer, dtype casts, slicing and concatenation. */
final class Transfer {

    private Transfer() {
    }

    static Tensor fromBuffer(Nd4jDataOps be, ByteBuffer data, DType dtype, int... shape) {
        int n = Shapes.numelInt(shape);
        long bytes = (long) n * dtype.byteSize();
        if (data.remaining() < bytes) {
            throw new IllegalArgumentException("fromBuffer: " + data.remaining() + " bytes remaining, expected " + bytes
                    + " for " + dtype + " " + Shapes.str(shape));
        }
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] s = HostArrays.longs(shape);
        INDArray a = switch (dtype) {
            case F32 -> {
                float[] f = new float[n];
                b.asFloatBuffer().get(f);
                yield HostArrays.create(f, s);
            }
            case BF16 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = Bf16.fromBits(b.getShort(b.position() + 2 * i));
                yield HostArrays.create(f, s);
            }
            case F64 -> {
                double[] d = new double[n];
                b.asDoubleBuffer().get(d);
                yield HostArrays.create(d, s);
            }
            case I32 -> {
                int[] d = new int[n];
                b.asIntBuffer().get(d);
                yield HostArrays.create(d, s);
            }
            case I64 -> {
                long[] d = new long[n];
                b.asLongBuffer().get(d);
                yield HostArrays.create(d, s);
            }
        };
        return be.wrap(a, dtype, shape);
    }

    static void writeTo(Nd4jDataOps be, Tensor t, ByteBuffer out) {
        INDArray a = be.arr(t);
        int n = Math.toIntExact(t.numel());
        long bytes = (long) n * t.dtype().byteSize();
        if (out.remaining() < bytes) {
            throw new IllegalArgumentException("writeTo: " + out.remaining() + " bytes remaining, expected " + bytes
                    + " for " + t.dtype() + " " + Shapes.str(t.shape()));
        }
        ByteBuffer o = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F32 -> o.asFloatBuffer().put(HostArrays.floats(a));
            case BF16 -> {
                float[] f = HostArrays.floats(a);
                int p = o.position();
                for (int i = 0; i < n; i++) o.putShort(p + 2 * i, (short) (Float.floatToRawIntBits(f[i]) >>> 16));
            }
            case F64 -> o.asDoubleBuffer().put(HostArrays.doubles(a));
            case I32 -> {
                long[] l = HostArrays.longValues(a);
                int p = o.position();
                for (int i = 0; i < n; i++) o.putInt(p + 4 * i, (int) l[i]);
            }
            case I64 -> o.asLongBuffer().put(HostArrays.longValues(a));
        }
        out.position(out.position() + (int) bytes);
    }

    /** A copy in {@code dtype}: to BF16 rounds to nearest even; floating → integer is rejected. */
    static Tensor cast(Nd4jDataOps be, Tensor t, DType dtype) {
        if (t.dtype().isFloating() && !dtype.isFloating()) {
            throw new IllegalArgumentException("cast: cannot cast floating " + t.dtype() + " to integer " + dtype);
        }
        INDArray a = be.arr(t);
        if (t.dtype() == DType.I64 && dtype == DType.I32) {
            for (long v : HostArrays.longValues(a)) checkI32("cast", v);
        }
        if (t.dtype().isFloating()) {
            Tensor host = HostOps.cast(be, t, dtype);                 // one pass on the CPU, rounding included
            if (host != null) return host;
        }
        INDArray c = a.dataType() == HostArrays.storage(dtype) ? NativeMemory.copyOf(a) : a.castTo(HostArrays.storage(dtype));
        if (dtype == DType.BF16 && t.dtype() != DType.BF16) Bf16Arrays.roundInPlace(c);   // c is a fresh copy
        return be.wrap(c, dtype, t.shape());
    }

    /** I32 values must fit an int. */
    static long checkI32(String op, long v) {
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": value " + v + " does not fit I32");
        }
        return v;
    }

    static Tensor slice(Nd4jDataOps be, Tensor x, int axis, int from, int to) {
        int[] out = Shapes.checkSlice(x, axis, from, to);
        int a = Shapes.axis("slice", axis, x.rank());
        INDArrayIndex[] idx = new INDArrayIndex[x.rank()];
        for (int i = 0; i < idx.length; i++) idx[i] = i == a ? NDArrayIndex.interval(from, to) : NDArrayIndex.all();
        if (Shapes.numel(out) == 0) return be.zeros(x.dtype(), out);
        return be.wrap(NativeMemory.copyOf(be.arr(x).get(idx)), x.dtype(), out);
    }

    static Tensor concat(Nd4jDataOps be, int axis, Tensor... parts) {
        int[] out = Shapes.checkConcat(axis, parts);
        int a = Shapes.axis("concat", axis, out.length);
        INDArray[] arrays = new INDArray[parts.length];
        for (int i = 0; i < parts.length; i++) arrays[i] = be.arr(parts[i]);
        if (parts.length == 1) return be.wrap(NativeMemory.copyOf(arrays[0]), parts[0].dtype(), out);
        INDArray c = NativeMemory.uninitialized(arrays[0].dataType(), HostArrays.longs(out));
        INDArrayIndex[] idx = new INDArrayIndex[out.length];
        long at = 0;
        for (INDArray part : arrays) {                      // each part copied into its place along the axis
            for (int i = 0; i < idx.length; i++) idx[i] = i == a ? NDArrayIndex.interval(at, at + part.size(a)) : NDArrayIndex.all();
            if (part.length() > 0) c.get(idx).assign(part);
            at += part.size(a);
        }
        return be.wrap(c, parts[0].dtype(), out);
    }
}
