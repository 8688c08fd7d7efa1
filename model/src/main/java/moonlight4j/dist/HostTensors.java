package moonlight4j.dist;

import moonlight4j.api.Bf16;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;

import java.util.Arrays;

/** Host float arrays ↔ F32/BF16 tensors (BF16 values held as exact floats on the host). */
final class HostTensors {

    private HostTensors() {
    }

    /** A {@code dtype} tensor of {@code shape} from {@code src[from, from+numel)}; BF16 values must be bf16-exact. */
    static Tensor of(Backend be, DType dtype, float[] src, int from, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] part = from == 0 && n == src.length ? src : Arrays.copyOfRange(src, from, from + n);
        return switch (dtype) {
            case F32 -> be.fromFloats(part, shape);
            case BF16 -> {
                short[] bits = new short[n];
                for (int i = 0; i < n; i++) bits[i] = Bf16.toBits(part[i]);
                yield be.fromBf16Bits(bits, shape);
            }
            default -> throw new IllegalArgumentException("Distributed Muon supports F32 and BF16 tensors, got " + dtype);
        };
    }

    /** Copies the elements of {@code t} (F32 or BF16) into {@code dst[at, at+numel)}. */
    static void read(Backend be, Tensor t, float[] dst, int at) {
        float[] v = be.toFloats(t);
        System.arraycopy(v, 0, dst, at, v.length);
    }
}
