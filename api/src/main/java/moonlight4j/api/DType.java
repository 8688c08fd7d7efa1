package moonlight4j.api;

/**
 * Element types of a {@link Tensor}. Names match the safetensors dtype strings.
 *
 * <p>BF16 semantics follow PyTorch on CPU: an op widens its BF16 inputs to fp32, computes in fp32 (matmul
 * accumulates in fp32) and rounds its result to bf16 once, round-to-nearest-even.
 */
public enum DType {
    F32(4, true),
    BF16(2, true),
    F64(8, true),
    I32(4, false),
    I64(8, false);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element as stored in safetensors and in Java buffers. */
    public int byteSize() {
        return byteSize;
    }

    /** True for F32, BF16 and F64. */
    public boolean isFloating() {
        return floating;
    }

    /** The dtype whose name is {@code s} (safetensors spelling), or an error listing the known ones. */
    public static DType parse(String s) {
        for (DType d : values()) {
            if (d.name().equals(s)) return d;
        }
        throw new IllegalArgumentException("unknown dtype '" + s + "', expected one of F32, BF16, F64, I32, I64");
    }
}
