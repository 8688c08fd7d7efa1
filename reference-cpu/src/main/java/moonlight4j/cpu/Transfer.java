package moonlight4j.cpu;

import moonlight4j.api.Bf16;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Creation, byte transfer and dtype conversion: everything that moves values in or out of a {@link CpuTensor}. */
final class Transfer {

    private Transfer() {
    }

    /** Reads numel little-endian elements of {@code dtype} from {@code data}'s position (position unchanged). */
    static CpuTensor fromBuffer(CpuDataOps be, ByteBuffer data, DType dtype, int... shape) {
        int n = Shapes.numelInt(shape);
        long bytes = (long) n * dtype.byteSize();
        if (data.remaining() < bytes) {
            throw new IllegalArgumentException("fromBuffer: " + data.remaining() + " bytes remaining, expected " + bytes
                    + " for " + dtype + " " + Shapes.str(shape));
        }
        ByteBuffer in = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        CpuTensor t = CpuTensor.zeros(be, dtype, shape);
        switch (dtype) {
            case F32 -> in.asFloatBuffer().get(t.f, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) t.f[i] = Bf16.fromBits(in.getShort());
            }
            case F64 -> in.asDoubleBuffer().get(t.d, 0, n);
            case I32 -> {
                for (int i = 0; i < n; i++) t.l[i] = in.getInt();
            }
            case I64 -> in.asLongBuffer().get(t.l, 0, n);
        }
        return t;
    }

    /** Writes t's elements little-endian at {@code out}'s position and advances it. */
    static void writeTo(CpuTensor t, ByteBuffer out) {
        long bytes = (long) t.n * t.dtype().byteSize();
        if (out.remaining() < bytes) {
            throw new IllegalArgumentException("writeTo: " + out.remaining() + " bytes remaining, expected " + bytes
                    + " for " + t.dtype() + " " + Shapes.str(t.shapeRef()));
        }
        ByteBuffer o = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F32 -> o.asFloatBuffer().put(t.f, 0, t.n);
            case BF16 -> {
                for (int i = 0; i < t.n; i++) o.putShort(Bf16.toBits(t.f[i]));
            }
            case F64 -> o.asDoubleBuffer().put(t.d, 0, t.n);
            case I32 -> {
                for (int i = 0; i < t.n; i++) o.putInt((int) t.l[i]);
            }
            case I64 -> o.asLongBuffer().put(t.l, 0, t.n);
        }
        out.position(out.position() + (int) bytes);
    }

    /** I32 values must fit an int. */
    static long checkI32(String op, long v) {
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": value " + v + " does not fit I32");
        }
        return v;
    }

    /** An integer-valued double for an integer dtype, or an error. */
    static long integral(String op, DType dtype, double v) {
        if (v != Math.rint(v) || Double.isInfinite(v) || Math.abs(v) >= 0x1p63) {
            throw new IllegalArgumentException(op + ": value " + v + " is not an integer, cannot fill " + dtype);
        }
        long l = (long) v;
        return dtype == DType.I32 ? checkI32(op, l) : l;
    }

    /**
     * A copy of x in {@code dtype}: floating → floating rounds ({@link CpuTensor#put}: to BF16 via fp32,
     * round-to-nearest-even); integer → floating converts; integer → integer range-checks I32; floating → integer
     * is rejected.
     */
    static CpuTensor cast(CpuDataOps be, CpuTensor x, DType dtype) {
        DType from = x.dtype();
        if (from.isFloating() && !dtype.isFloating()) {
            throw new IllegalArgumentException("cast: cannot cast floating " + from + " to integer " + dtype);
        }
        CpuTensor out = CpuTensor.zeros(be, dtype, x.shapeRef());
        if (!dtype.isFloating()) {
            for (int i = 0; i < x.n; i++) out.l[i] = dtype == DType.I32 ? checkI32("cast", x.l[i]) : x.l[i];
        } else if (from == dtype) {
            Layout.copyRange(x, 0, out, 0, x.n);
        } else if (x.f != null && out.f != null) {
            // F32 ↔ BF16: a bf16 value is exact in fp32; fp32 → bf16 is put's Bf16.round, over the whole array
            System.arraycopy(x.f, 0, out.f, 0, x.n);
            if (dtype == DType.BF16) FloatLoops.roundBf16InPlace(out.f, 0, out.n);
        } else if (from.isFloating()) {
            for (int i = 0; i < x.n; i++) out.put(i, x.at(i));
        } else {
            // integer → floating: long → double → dtype, as exact as the target allows
            for (int i = 0; i < x.n; i++) out.put(i, (double) x.l[i]);
        }
        return out;
    }
}
