package moonlight4j.nd4j;

import moonlight4j.api.Bf16;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * The data half of the {@code nd4j} backend (as the oracle splits {@code CpuBackend}/{@code CpuDataOps}): identity,
 * the plumbing shared by the op classes (ownership checks, wrapping, the one BF16 rounding of a result), creation,
 * transfer and layout. The compute ops are in {@link Nd4jBackend}.
 */
abstract class Nd4jDataOps implements Backend {

    /** Tensors created and neither closed nor collected ({@link #liveTensors}); kept by the tensor class. */
    final moonlight4j.api.LiveTensors live = new moonlight4j.api.LiveTensors();

    @Override
    public long liveTensors() {
        return live.get();
    }

    Nd4jDataOps() {
    }

    @Override
    public String name() {
        return Nd4jBackend.NAME;
    }

    @Override
    public String device() {
        return DeviceInfo.describe();
    }

    @Override
    public Set<DType> dtypes() {
        return EnumSet.allOf(DType.class);
    }

    @Override
    public String dtypeNotes() {
        return String.join("\n",
                "F32: ND4J FLOAT, fp32 arithmetic; matmul by " + DeviceInfo.blas() + " (blocked/FMA summation order)",
                "BF16: stored as bf16-exact FLOAT; every op computes in fp32 (matmul accumulates in fp32) and rounds"
                        + " its result once to bf16, round-to-nearest-even, emulated (ND4J's bf16 matmul is not used);"
                        + " rmsNorm and rope round where the release's PyTorch ops do, scatter-adds round every addition",
                "F64: ND4J DOUBLE, fp64 arithmetic",
                "I32/I64: ND4J INT/LONG, index tensors only");
    }

    // =============================================================== plumbing shared by the op classes

    /** Rejects a null tensor or one of another backend, naming the op (bytes move with writeTo/fromBuffer). */
    void own(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) throw new IllegalArgumentException(op + ": tensor is null");
            if (!(t instanceof Nd4jTensor nt) || nt.backend() != this) {
                String other = t.backend() == null ? "none" : t.backend().name();
                throw new IllegalArgumentException(op + ": tensor " + Shapes.str(t.shape()) + " " + t.dtype()
                        + " belongs to backend '" + other + "', not nd4j; move it with writeTo/fromBuffer");
            }
        }
    }

    /** The owned array of one of this backend's tensors (checked by {@link #own} at the op's entry). */
    INDArray arr(Tensor t) {
        if (!(t instanceof Nd4jTensor nt) || nt.backend() != this) {
            throw new IllegalArgumentException("nd4j: tensor of another backend");
        }
        return nt.array();
    }

    /** Wraps an array this backend owns from now on (never a view). */
    Tensor wrap(INDArray a, DType d, int[] shape) {
        return new Nd4jTensor(this, d, shape, a);
    }

    /**
     * The tensor for an op's fresh fp32/fp64 result {@code r}: reshaped to {@code shape} if ND4J gave another rank
     * (e.g. a reduction to a scalar) and, for BF16, rounded once; {@code r} is consumed.
     */
    Tensor finish(INDArray r, DType d, int[] shape) {
        INDArray out = r;
        if (!Arrays.equals(r.shape(), HostArrays.longs(shape))) {
            NativeMemory.Block b = NativeMemory.blockOf(r);
            if (b != null) {
                out = NativeMemory.view(b, HostArrays.longs(shape));   // the same pooled buffer, another shape
            } else {
                out = NativeMemory.copyOf(r.reshape('c', HostArrays.longs(shape)));
                r.close();
            }
        }
        if (d == DType.BF16) Bf16Arrays.roundInPlace(out);
        return wrap(out, d, shape);
    }

    /** A Python-style scalar converted to the dtype first (PyTorch casts a scalar to the tensor dtype). */
    static double scalar(double s, DType d) {
        return switch (d) {
            case F32 -> (float) s;
            case BF16 -> Bf16.round((float) s);
            default -> s;
        };
    }

    // =============================================================== creation and transfer

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        Shapes.numel(shape);
        return wrap(NativeMemory.zeros(HostArrays.storage(dtype), HostArrays.longs(shape)), dtype, shape);
    }

    @Override
    public Tensor full(DType dtype, double value, int... shape) {
        if (!dtype.isFloating()) {
            if (value != Math.rint(value) || Double.isInfinite(value) || Math.abs(value) >= 0x1p63) {
                throw new IllegalArgumentException("full: value " + value + " is not an integer, cannot fill " + dtype);
            }
            if (dtype == DType.I32) Transfer.checkI32("full", (long) value);
        }
        Tensor t = zeros(dtype, shape);
        if (dtype.isFloating()) arr(t).assign(scalar(value, dtype));
        else arr(t).assign((long) value);
        return t;
    }

    @Override
    public Tensor fromFloats(float[] data, int... shape) {
        Shapes.checkData("fromFloats", data.length, shape);
        return wrap(HostArrays.create(data.clone(), HostArrays.longs(shape)), DType.F32, shape);
    }

    @Override
    public Tensor fromDoubles(double[] data, int... shape) {
        Shapes.checkData("fromDoubles", data.length, shape);
        return wrap(HostArrays.create(data.clone(), HostArrays.longs(shape)), DType.F64, shape);
    }

    @Override
    public Tensor fromBf16Bits(short[] bits, int... shape) {
        Shapes.checkData("fromBf16Bits", bits.length, shape);
        float[] f = new float[bits.length];
        for (int i = 0; i < f.length; i++) f[i] = Bf16.fromBits(bits[i]);
        return wrap(HostArrays.create(f, HostArrays.longs(shape)), DType.BF16, shape);
    }

    @Override
    public Tensor fromInts(int[] data, int... shape) {
        Shapes.checkData("fromInts", data.length, shape);
        return wrap(HostArrays.create(data.clone(), HostArrays.longs(shape)), DType.I32, shape);
    }

    @Override
    public Tensor fromLongs(long[] data, int... shape) {
        Shapes.checkData("fromLongs", data.length, shape);
        return wrap(HostArrays.create(data.clone(), HostArrays.longs(shape)), DType.I64, shape);
    }

    @Override
    public Tensor fromBuffer(ByteBuffer data, DType dtype, int... shape) {
        return Transfer.fromBuffer(this, data, dtype, shape);
    }

    @Override
    public void writeTo(Tensor t, ByteBuffer out) {
        own("writeTo", t);
        Transfer.writeTo(this, t, out);
    }

    @Override
    public float[] toFloats(Tensor t) {
        own("toFloats", t);
        if (t.dtype() == DType.F64 || !t.dtype().isFloating()) {
            double[] d = HostArrays.doubles(arr(t));
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        }
        return HostArrays.floats(arr(t));
    }

    @Override
    public double[] toDoubles(Tensor t) {
        own("toDoubles", t);
        if (t.dtype() == DType.I64) {
            long[] l = HostArrays.longValues(arr(t));
            double[] d = new double[l.length];
            for (int i = 0; i < l.length; i++) d[i] = l[i];
            return d;
        }
        return HostArrays.doubles(arr(t));
    }

    @Override
    public short[] toBf16Bits(Tensor t) {
        own("toBf16Bits", t);
        if (t.dtype() != DType.BF16) throw new IllegalArgumentException("toBf16Bits: expected a BF16 tensor, got " + t.dtype());
        float[] f = HostArrays.floats(arr(t));
        short[] s = new short[f.length];
        for (int i = 0; i < f.length; i++) s[i] = (short) (Float.floatToRawIntBits(f[i]) >>> 16);
        return s;
    }

    @Override
    public long[] toLongs(Tensor t) {
        own("toLongs", t);
        Shapes.checkIndex("toLongs", t);
        return HostArrays.longValues(arr(t));
    }

    @Override
    public double item(Tensor t) {
        own("item", t);
        if (t.numel() != 1) {
            throw new IllegalArgumentException("item: expected a tensor with one element, got shape " + Shapes.str(t.shape()));
        }
        return toDoubles(t)[0];
    }

    @Override
    public Tensor cast(Tensor t, DType dtype) {
        own("cast", t);
        return Transfer.cast(this, t, dtype);
    }

    @Override
    public Tensor copy(Tensor t) {
        own("copy", t);
        return wrap(NativeMemory.copyOf(arr(t)), t.dtype(), t.shape());
    }

    @Override
    public Tensor reshape(Tensor x, int... shape) {
        own("reshape", x);
        int[] out = Shapes.checkReshape(x, shape);
        NativeMemory.Block b = NativeMemory.blockOf(arr(x));
        if (b != null) {                                   // a pooled buffer: the result shares it (no copy)
            return wrap(NativeMemory.view(b, HostArrays.longs(out)), x.dtype(), out);
        }
        return wrap(NativeMemory.copyOf(arr(x).reshape('c', HostArrays.longs(out))), x.dtype(), out);
    }

    @Override
    public Tensor permute(Tensor x, int... axes) {
        own("permute", x);
        int[] out = Shapes.checkPermute(x, axes);
        return wrap(NativeMemory.copyOf(arr(x).permute(axes)), x.dtype(), out);
    }

    @Override
    public Tensor slice(Tensor x, int axis, int from, int to) {
        own("slice", x);
        return Transfer.slice(this, x, axis, from, to);
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        own("concat", parts);
        return Transfer.concat(this, axis, parts);
    }
}
