package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * The data half of the {@code cpu} backend: creation, transfer, dtype conversion and layout ops (no arithmetic
 * beyond rounding to a dtype). {@link CpuBackend} adds the math. Split only to keep each class readable.
 */
abstract class CpuDataOps implements Backend {

    /** Tensors created and neither closed nor collected ({@link #liveTensors}); kept by the tensor class. */
    final moonlight4j.api.LiveTensors live = new moonlight4j.api.LiveTensors();

    @Override
    public long liveTensors() {
        return live.get();
    }

    /** System property with the GEMM thread count (default: all available processors). */
    public static final String THREADS_PROPERTY = "moonlight.cpu.threads";

    static int threadsFromProperty() {
        String p = System.getProperty(THREADS_PROPERTY);
        if (p == null || p.isBlank()) return Runtime.getRuntime().availableProcessors();
        try {
            int t = Integer.parseInt(p.trim());
            if (t >= 1) return t;
        } catch (NumberFormatException ignored) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("system property " + THREADS_PROPERTY + " = '" + p
                + "': expected a positive integer");
    }

    /** Threads of the GEMM and the large element-wise loops. */
    public abstract int threads();

    /** The worker threads ({@link Workers}). */
    abstract Workers workers();

    // =============================================================== identity

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String device() {
        return "CPU " + System.getProperty("os.arch") + ", " + threads() + " GEMM threads of "
                + Runtime.getRuntime().availableProcessors() + " processors (plain Java, " + Gemm.tileKernel() + ", "
                + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ")";
    }

    @Override
    public Set<DType> dtypes() {
        return EnumSet.allOf(DType.class);
    }

    @Override
    public String dtypeNotes() {
        return String.join("\n",
                "F32: fp32 arithmetic; sums and dot products accumulate in fp32 in index order (matmul k = 0..K-1)",
                "BF16: bf16 storage; widened to fp32, computed in fp32, each op's result rounded to bf16 (nearest even)",
                "F64: fp64 arithmetic, fp64 accumulation in index order",
                "I32, I64: index tensors (gathers, embedding, targets, position ids)");
    }

    // =============================================================== creation and transfer

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        return CpuTensor.zeros(this, dtype, shape);
    }

    @Override
    public Tensor full(DType dtype, double value, int... shape) {
        CpuTensor t = CpuTensor.zeros(this, dtype, shape);
        if (dtype.isFloating()) {
            double v = Precision.scalar(dtype, value);
            for (int i = 0; i < t.n; i++) t.put(i, v);
        } else {
            Arrays.fill(t.l, Transfer.integral("full", dtype, value));
        }
        return t;
    }

    @Override
    public Tensor fromFloats(float[] data, int... shape) {
        Shapes.checkData("fromFloats", data.length, shape);
        return CpuTensor.wrapFloats(this, DType.F32, data.clone(), shape);
    }

    @Override
    public Tensor fromDoubles(double[] data, int... shape) {
        Shapes.checkData("fromDoubles", data.length, shape);
        return CpuTensor.wrapDoubles(this, data.clone(), shape);
    }

    @Override
    public Tensor fromBf16Bits(short[] bits, int... shape) {
        Shapes.checkData("fromBf16Bits", bits.length, shape);
        float[] f = new float[bits.length];
        for (int i = 0; i < f.length; i++) f[i] = Bf16.fromBits(bits[i]);
        return CpuTensor.wrapFloats(this, DType.BF16, f, shape);
    }

    @Override
    public Tensor fromInts(int[] data, int... shape) {
        Shapes.checkData("fromInts", data.length, shape);
        long[] l = new long[data.length];
        for (int i = 0; i < l.length; i++) l[i] = data[i];
        return CpuTensor.wrapLongs(this, DType.I32, l, shape);
    }

    @Override
    public Tensor fromLongs(long[] data, int... shape) {
        Shapes.checkData("fromLongs", data.length, shape);
        return CpuTensor.wrapLongs(this, DType.I64, data.clone(), shape);
    }

    @Override
    public Tensor fromBuffer(ByteBuffer data, DType dtype, int... shape) {
        return Transfer.fromBuffer(this, data, dtype, shape);
    }

    @Override
    public void writeTo(Tensor t, ByteBuffer out) {
        Transfer.writeTo(CpuTensor.of("writeTo", t), out);
    }

    @Override
    public float[] toFloats(Tensor t) {
        CpuTensor x = CpuTensor.of("toFloats", t);
        if (x.f != null) return x.f.clone();
        float[] r = new float[x.n];
        for (int i = 0; i < r.length; i++) r[i] = (float) x.at(i);
        return r;
    }

    @Override
    public double[] toDoubles(Tensor t) {
        CpuTensor x = CpuTensor.of("toDoubles", t);
        double[] r = new double[x.n];
        for (int i = 0; i < r.length; i++) r[i] = x.at(i);
        return r;
    }

    @Override
    public short[] toBf16Bits(Tensor t) {
        CpuTensor x = CpuTensor.of("toBf16Bits", t);
        if (x.dtype() != DType.BF16) {
            throw new IllegalArgumentException("toBf16Bits: expected a BF16 tensor, got " + x.dtype());
        }
        short[] r = new short[x.n];
        for (int i = 0; i < r.length; i++) r[i] = Bf16.toBits(x.f[i]);
        return r;
    }

    @Override
    public long[] toLongs(Tensor t) {
        CpuTensor x = CpuTensor.of("toLongs", t);
        Shapes.checkIndex("toLongs", x);
        return x.l.clone();
    }

    @Override
    public double item(Tensor t) {
        CpuTensor x = CpuTensor.of("item", t);
        if (x.n != 1) {
            throw new IllegalArgumentException("item: expected a tensor with one element, got shape "
                    + Shapes.str(x.shapeRef()));
        }
        return x.at(0);
    }

    @Override
    public Tensor cast(Tensor t, DType dtype) {
        return Transfer.cast(this, CpuTensor.of("cast", t), dtype);
    }

    @Override
    public Tensor copy(Tensor t) {
        CpuTensor x = CpuTensor.of("copy", t);
        return Transfer.cast(this, x, x.dtype());
    }

    @Override
    public Tensor reshape(Tensor x, int... shape) {
        CpuTensor c = CpuTensor.of("reshape", x);
        return c.view(Shapes.checkReshape(c, shape));
    }

    @Override
    public Tensor permute(Tensor x, int... axes) {
        CpuTensor c = CpuTensor.of("permute", x);
        int[] shape = Shapes.checkPermute(c, axes);
        if (Layout.swapsLastTwo(axes)) return Layout.lastTwoSwapped(this, workers(), c);   // transpose: blocked copy
        CpuTensor out = CpuTensor.zeros(this, c.dtype(), shape);
        Layout.permute(c, axes, out);
        return out;
    }

    @Override
    public Tensor slice(Tensor x, int axis, int from, int to) {
        CpuTensor c = CpuTensor.of("slice", x);
        CpuTensor out = CpuTensor.zeros(this, c.dtype(), Shapes.checkSlice(c, axis, from, to));
        Layout.slice(c, Shapes.axis("slice", axis, c.rank()), from, to, out);
        return out;
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        CpuTensor[] ps = new CpuTensor[parts.length];
        for (int i = 0; i < parts.length; i++) ps[i] = CpuTensor.of("concat", parts[i]);
        int[] shape = Shapes.checkConcat(axis, ps);
        CpuTensor out = CpuTensor.zeros(this, ps[0].dtype(), shape);
        Layout.concat(Shapes.axis("concat", axis, shape.length), ps, out);
        return out;
    }

}
