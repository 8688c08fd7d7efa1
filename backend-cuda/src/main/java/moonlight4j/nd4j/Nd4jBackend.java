package moonlight4j.nd4j;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.RmsNormGrads;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.api.TopK;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * The {@code nd4j} backend: every op of {@link Backend} on ND4J arrays (nd4j-native with OpenBLAS by default,
 * nd4j-cuda under the Maven profile {@code cuda}). Argument checks are the shared {@link Shapes} ones, so errors
 * read exactly as the oracle's.
 *
 * <p><b>Precision.</b> F32 in fp32, F64 in fp64 (ND4J FLOAT/DOUBLE). BF16 is stored as bf16-exact FLOAT, each op
 * computes in fp32 and rounds its result once, round-to-nearest-even ({@link Bf16}); ND4J's own BFLOAT16 matmul
 * (a generic loop accumulating in bf16) is never used. <b>Summation order</b> is ND4J's/BLAS's (blocked, threaded,
 * FMA), not index order, so F32/BF16 results agree with the oracle to rounding, not bit for bit.
 *
 * <p>This class holds identity, creation and transfer; the ops live in {@link Elementwise}, {@link Reductions},
 * {@link Layers}, {@link Rope}, {@link Indexing}, {@link Losses} and {@link Updates}.
 */
public final class Nd4jBackend implements Backend {

    public static final String NAME = "nd4j";

    Nd4jBackend() {
    }

    @Override
    public String name() {
        return NAME;
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
                        + " its result once to bf16, round-to-nearest-even (ND4J's bf16 matmul is not used)",
                "F64: ND4J DOUBLE, fp64 arithmetic",
                "I32/I64: ND4J INT/LONG, index tensors only");
    }

    // =============================================================== plumbing shared by the op classes

    /** Rejects a null tensor or one of another backend, naming the op (bytes move with writeTo/fromBuffer). */
    private void own(String op, Tensor... ts) {
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
            out = r.reshape('c', HostArrays.longs(shape)).dup('c');
            r.close();
        }
        if (d == DType.BF16) Bf16.roundInPlace(out);
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
        return wrap(org.nd4j.linalg.factory.Nd4j.create(HostArrays.storage(dtype), HostArrays.longs(shape)), dtype, shape);
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
        for (int i = 0; i < f.length; i++) f[i] = Bf16.widen(bits[i]);
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
        return wrap(arr(t).dup('c'), t.dtype(), t.shape());
    }

    @Override
    public Tensor reshape(Tensor x, int... shape) {
        own("reshape", x);
        int[] out = Shapes.checkReshape(x, shape);
        return wrap(arr(x).reshape('c', HostArrays.longs(out)).dup('c'), x.dtype(), out);
    }

    @Override
    public Tensor permute(Tensor x, int... axes) {
        own("permute", x);
        int[] out = Shapes.checkPermute(x, axes);
        return wrap(arr(x).permute(axes).dup('c'), x.dtype(), out);
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

    // =============================================================== linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        own("matmul", a, b);
        return MatMul.matmul(this, a, b, transA, transB);
    }

    // =============================================================== elementwise

    @Override
    public Tensor add(Tensor a, Tensor b) {
        own("add", a, b);
        return Elementwise.binary(this, Elementwise.Op.ADD, a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        own("sub", a, b);
        return Elementwise.binary(this, Elementwise.Op.SUB, a, b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        own("mul", a, b);
        return Elementwise.binary(this, Elementwise.Op.MUL, a, b);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        own("div", a, b);
        return Elementwise.binary(this, Elementwise.Op.DIV, a, b);
    }

    @Override
    public Tensor addScalar(Tensor x, double s) {
        own("addScalar", x);
        return Elementwise.addScalar(this, x, s);
    }

    @Override
    public Tensor mulScalar(Tensor x, double s) {
        own("mulScalar", x);
        return Elementwise.mulScalar(this, x, s);
    }

    @Override
    public Tensor sqrt(Tensor x) {
        own("sqrt", x);
        return Elementwise.unary(this, "sqrt", x);
    }

    @Override
    public Tensor exp(Tensor x) {
        own("exp", x);
        return Elementwise.unary(this, "exp", x);
    }

    @Override
    public Tensor log(Tensor x) {
        own("log", x);
        return Elementwise.unary(this, "log", x);
    }

    @Override
    public Tensor sigmoid(Tensor x) {
        own("sigmoid", x);
        return Elementwise.unary(this, "sigmoid", x);
    }

    @Override
    public Tensor sigmoidBackward(Tensor y, Tensor dy) {
        own("sigmoidBackward", y, dy);
        return Elementwise.sigmoidBackward(this, y, dy);
    }

    @Override
    public Tensor silu(Tensor x) {
        own("silu", x);
        return Elementwise.unary(this, "silu", x);
    }

    @Override
    public Tensor siluBackward(Tensor x, Tensor dy) {
        own("siluBackward", x, dy);
        return Elementwise.siluBackward(this, x, dy);
    }

    @Override
    public Tensor lerp(Tensor a, Tensor b, double w) {
        own("lerp", a, b);
        return Elementwise.lerp(this, a, b, w);
    }

    // =============================================================== reductions

    @Override
    public Tensor sum(Tensor x, int axis) {
        own("sum", x);
        return Reductions.sum(this, x, axis);
    }

    @Override
    public Tensor sumAll(Tensor x) {
        own("sumAll", x);
        return Reductions.sumAll(this, x);
    }

    @Override
    public Tensor sumSquares(Tensor x) {
        own("sumSquares", x);
        return Reductions.sumSquares(this, x);
    }

    @Override
    public Tensor frobeniusNorm(Tensor x) {
        own("frobeniusNorm", x);
        return Reductions.frobeniusNorm(this, x);
    }

    @Override
    public Tensor maxAll(Tensor x) {
        own("maxAll", x);
        return Reductions.maxAll(this, x);
    }

    @Override
    public boolean allFinite(Tensor x) {
        own("allFinite", x);
        return Reductions.allFinite(this, x);
    }

    // =============================================================== layers

    @Override
    public Tensor rmsNorm(Tensor x, Tensor w, double eps) {
        own("rmsNorm", x, w);
        return Layers.rmsNorm(this, x, w, eps);
    }

    @Override
    public RmsNormGrads rmsNormBackward(Tensor x, Tensor w, double eps, Tensor dy) {
        own("rmsNormBackward", x, w, dy);
        return Layers.rmsNormBackward(this, x, w, eps, dy);
    }

    @Override
    public Tensor softmax(Tensor x) {
        own("softmax", x);
        return Layers.softmax(this, x);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        own("softmaxBackward", y, dy);
        return Layers.softmaxBackward(this, y, dy);
    }

    @Override
    public Tensor rope(Tensor x, Tensor positionIds, double theta) {
        own("rope", x, positionIds);
        return Rope.forward(this, x, positionIds, theta);
    }

    @Override
    public Tensor ropeBackward(Tensor dy, Tensor positionIds, double theta) {
        own("ropeBackward", dy, positionIds);
        return Rope.backward(this, dy, positionIds, theta);
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        own("embedding", table, ids);
        return Indexing.embedding(this, table, ids);
    }

    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        own("embeddingBackward", dy, ids);
        return Indexing.embeddingBackward(this, dy, ids, vocab);
    }

    @Override
    public TopK topk(Tensor x, int k) {
        own("topk", x);
        return Indexing.topk(this, x, k);
    }

    @Override
    public Tensor gatherRows(Tensor x, Tensor idx) {
        own("gatherRows", x, idx);
        return Indexing.gatherRows(this, x, idx);
    }

    @Override
    public void indexAddInPlace(Tensor target, Tensor idx, Tensor src) {
        own("indexAddInPlace", target, idx, src);
        Indexing.indexAddInPlace(this, target, idx, src);
    }

    @Override
    public Tensor gatherLastDim(Tensor x, Tensor idx) {
        own("gatherLastDim", x, idx);
        return Indexing.gatherLastDim(this, x, idx);
    }

    @Override
    public Tensor scatterAddLastDim(Tensor dy, Tensor idx, int size) {
        own("scatterAddLastDim", dy, idx);
        return Indexing.scatterAddLastDim(this, dy, idx, size);
    }

    @Override
    public Tensor crossEntropySum(Tensor logits, Tensor targets, long ignoreIndex) {
        own("crossEntropySum", logits, targets);
        return Losses.crossEntropySum(this, logits, targets, ignoreIndex);
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, double scale) {
        own("crossEntropyBackward", logits, targets);
        return Losses.crossEntropyBackward(this, logits, targets, ignoreIndex, scale);
    }

    // =============================================================== in-place updates

    @Override
    public void copyInto(Tensor dst, Tensor src) {
        own("copyInto", dst, src);
        Updates.copyInto(this, dst, src);
    }

    @Override
    public void scaleInPlace(Tensor p, double s) {
        own("scaleInPlace", p);
        Updates.scaleInPlace(this, p, s);
    }

    @Override
    public void axpyInPlace(Tensor p, double alpha, Tensor u) {
        own("axpyInPlace", p, u);
        Updates.axpyInPlace(this, p, alpha, u);
    }

    @Override
    public void lerpInPlace(Tensor a, Tensor b, double w) {
        own("lerpInPlace", a, b);
        Updates.lerpInPlace(this, a, b, w);
    }
}
