package moonlight4j.nd4j;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.stream.IntStream;

/**
 * Bit-level passes over a FLOAT array's host memory (nd4j-native): the array's native buffer read as ints in
 * chunks (bulk copies into a heap array, where the loops are plain int arithmetic the JIT vectorises), split over
 * the cores. Only for arrays that own their whole buffer in 'c' order; callers fall back to ND4J ops otherwise.
 */
final class HostBits {

    private static final int CHUNK = 1 << 16;

    private HostBits() {
    }

    /** True when {@code x} is a dense FLOAT array in host memory that these passes can read and write. */
    static boolean applies(INDArray x) {
        return !DeviceInfo.cuda() && x.dataType() == DataType.FLOAT && x.length() > 0 && HostArrays.coversItsBuffer(x);
    }

    /**
     * Rounds every element to bf16, round-to-nearest-even, with the bits of {@link moonlight4j.api.Bf16#round}, a
     * chunk at a time ({@link HostKernels#roundBf16Bits}).
     */
    static void roundToBf16(INDArray x) {
        IntBuffer ib = ints(x);
        int n = Math.toIntExact(x.length());
        IntStream.range(0, (n + CHUNK - 1) / CHUNK).parallel().forEach(c -> {
            int from = c * CHUNK, len = Math.min(n, from + CHUNK) - from;
            int[] part = new int[len];
            ib.get(from, part, 0, len);
            HostKernels.roundBf16Bits(part, len);
            ib.put(from, part, 0, len);
        });
    }

    /** True when no element is NaN or ±Inf (exponent bits not all ones), one max over the masked exponents. */
    static boolean allFinite(INDArray x) {
        IntBuffer ib = ints(x);
        int n = Math.toIntExact(x.length());
        return IntStream.range(0, (n + CHUNK - 1) / CHUNK).parallel().allMatch(c -> {
            int from = c * CHUNK, len = Math.min(n, from + CHUNK) - from;
            int[] part = new int[len];
            ib.get(from, part, 0, len);
            int maxExp = 0;
            for (int i = 0; i < len; i++) maxExp = Math.max(maxExp, part[i] & 0x7f800000);
            return maxExp != 0x7f800000;
        });
    }

    private static IntBuffer ints(INDArray x) {
        return x.data().asNio().order(ByteOrder.nativeOrder()).asIntBuffer();
    }
}
