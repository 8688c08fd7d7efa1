package moonlight4j.nd4j;

import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Where the backend's op results get their memory: every fresh output array that an op writes completely comes from
 * {@link #uninitialized}, so the policy for native memory lives here.
 *
 * <p><b>Why a policy.</b> libnd4j gives every result fresh memory and frees it when the Java object holding it is
 * collected. Two costs follow at training widths. Fresh memory is slow: buffers above glibc's mmap threshold come
 * straight from the kernel, which faults in and zeroes every page (on the {@code small} preset at 8,192 tokens per
 * step the process spent more time in the kernel than in user code: {@code /usr/bin/time} sys 201 s, user 168 s).
 * And garbage is freed late: the Java heap fills slowly, so results nobody references wait for a collection that
 * rarely comes, and a step's results piled up until the 24 GiB machine killed the JVM.
 *
 * <p><b>The pool.</b> On nd4j-native a result of at least {@link #POOL_MIN_BYTES} lives in a {@link Block}: a host
 * buffer with a count of the tensors that hold it (a {@code reshape} shares its source's block instead of copying).
 * When the count drops to zero — the tensor is closed, its {@code TensorScope} closes, or the collector finds it
 * unreachable (the tensor's {@link java.lang.ref.Cleaner} action) — the buffer goes to a free list keyed by dtype
 * and capacity, and the next result of that size class reuses it: after the first training step, steps take their
 * memory from the lists. A free buffer that no result took for {@link #MAX_AGE} results is freed, and so are the
 * oldest beyond {@link #FREE_CAP_BYTES}.
 *
 * <p><b>Size classes.</b> A buffer's capacity is its result's length rounded up to one of eight steps per power of
 * two ({@link #capacityFor}: at most 1/8 more than asked), and a result shorter than its buffer sees only its first
 * elements (a {@link DataBuffer} over them, so to ND4J and to the host loops the array still covers its whole
 * buffer). The MoE's per-expert results change length every step with the routing (an expert's row count); with a
 * free list per exact length half of the {@code small} step's results at 8,192 tokens took fresh memory, 24 GB in
 * four steps, each page faulted in and zeroed by the kernel.
 *
 * <p><b>The collection budget.</b> A result that is garbage only returns to the pool once the collector has run.
 * So every {@link #GC_BUDGET_BYTES} handed out the collector is asked to run ({@link System#gc()}), which bounds
 * the garbage a step can hold to about that budget whatever its width.
 *
 * <p>nd4j-cuda is left to ND4J's own device-memory cache: nothing is pooled there.
 */
final class NativeMemory {

    /** Results smaller than this are left to ND4J (malloc serves small sizes from its own free lists). */
    static final long POOL_MIN_BYTES = 1L << 16;

    /** Free pooled bytes kept at most: a quarter of what the JVM may use, between 1 and 8 GiB. */
    static final long FREE_CAP_BYTES = Math.max(1L << 30, Math.min(8L << 30, Runtime.getRuntime().maxMemory() / 4));

    /**
     * A free buffer no result has taken for this many pooled results is freed: a step's results recur step after
     * step (a few thousand per step at the small preset's width), the sizes that do not recur (an expert's row count
     * varies with the routing) would otherwise pile up.
     */
    static final long MAX_AGE = 8192;

    /** Bytes handed out between two requested collections. */
    static final long GC_BUDGET_BYTES = Math.max(512L << 20, Math.min(4L << 30, Runtime.getRuntime().maxMemory() / 8));

    /**
     * A pooled host buffer of {@code capacity} elements, the number of tensors holding it, and what its current
     * result sees: {@code data}, its first {@code length} elements (the buffer itself when the lengths agree).
     */
    static final class Block {
        final DataBuffer buffer;
        final DataType type;
        final long capacity;
        private DataBuffer data;
        private long length;
        private int holders;
        private long returnedAt;

        private Block(DataBuffer buffer, DataType type, long capacity) {
            this.buffer = buffer;
            this.type = type;
            this.capacity = capacity;
        }

        /** The buffer's size in bytes. */
        long bytes() {
            return capacity * type.width();
        }

        private void handOut(long n) {
            length = n;
            data = n == capacity ? buffer : Nd4j.createBuffer(buffer, 0, n);
        }
    }

    private record Key(DataType type, long capacity) {
    }

    /**
     * The capacity of the buffer that holds a result of {@code length} elements: {@code length} rounded up to a
     * multiple of 2^(e−3), where 2^e ≤ length &lt; 2^(e+1). So each power of two has eight classes, and a buffer is
     * at most 1/8 longer than its result (exactly as long for a length of 8 to 16 times a power of two, which most
     * of a model's widths are).
     */
    static long capacityFor(long length) {
        if (length < 16) return length;
        long step = Long.highestOneBit(length) >> 3;
        return (length + step - 1) / step * step;
    }

    private static final Map<Key, ArrayDeque<Block>> FREE = new HashMap<>();
    /** Every pooled buffer handed out and not yet back, by identity, to find the block of an array at wrap time. */
    private static final Map<DataBuffer, Block> IN_USE = new IdentityHashMap<>();
    /** Free buffers in the order they came back, oldest first. */
    private static final java.util.LinkedHashSet<Block> FREE_ORDER = new java.util.LinkedHashSet<>();
    private static long freeBytes, handedOutSinceGc, handouts;
    private static long fresh, freshBytes, reused, collections;

    private NativeMemory() {
    }

    static {
        if (Boolean.getBoolean("moonlight.nd4j.poolStats")) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.println("nd4j " + stats())));
        }
    }

    /** A dense 'c'-order array of {@code shape} whose contents are undefined: the caller writes every element. */
    static INDArray uninitialized(DataType type, long... shape) {
        long length = 1;
        for (long d : shape) length *= d;
        long bytes = length * type.width();
        if (bytes < POOL_MIN_BYTES || DeviceInfo.cuda()) return Nd4j.createUninitialized(type, shape, 'c');
        long capacity = capacityFor(length), capacityBytes = capacity * type.width();
        boolean collect;
        Block b;
        synchronized (NativeMemory.class) {
            handedOutSinceGc += bytes;
            handouts++;
            collect = handedOutSinceGc >= GC_BUDGET_BYTES;
            if (collect) handedOutSinceGc = 0;
            ArrayDeque<Block> list = FREE.get(new Key(type, capacity));
            b = list == null ? null : list.pollLast();
            while (b != null && b.buffer.wasClosed()) {             // closed behind the pool's back: never reuse
                FREE_ORDER.remove(b);
                freeBytes -= capacityBytes;
                b = list.pollLast();
            }
            if (b != null) FREE_ORDER.remove(b);
            if (b != null) {
                freeBytes -= capacityBytes;
                reused++;
            } else {
                fresh++;
                freshBytes += capacityBytes;
            }
        }
        if (collect) {
            System.gc();
            synchronized (NativeMemory.class) {
                collections++;
            }
        }
        if (b == null) b = new Block(Nd4j.createBufferDetached(new long[]{capacity}, type), type, capacity);
        b.handOut(length);
        synchronized (NativeMemory.class) {
            IN_USE.put(b.data, b);
        }
        return view(b, shape);
    }

    /** A dense 'c'-order copy of {@code a} (any strides) with {@code a}'s shape. */
    static INDArray copyOf(INDArray a) {
        if (a.isEmpty()) return a.dup('c');
        INDArray out = uninitialized(a.dataType(), a.shape());
        out.assign(a);
        return out;
    }

    /** A dense 'c'-order array of zeros. */
    static INDArray zeros(DataType type, long... shape) {
        long length = 1;
        for (long d : shape) length *= d;
        if (length * type.width() < POOL_MIN_BYTES || DeviceInfo.cuda()) return Nd4j.create(type, shape, 'c');
        INDArray out = uninitialized(type, shape);
        out.assign(0);
        return out;
    }

    /** An array of {@code shape} over the whole of {@code b}'s current result ('c' order, offset 0). */
    static INDArray view(Block b, long... shape) {
        return Nd4j.create(b.data, shape, Nd4j.getStrides(shape, 'c'), 0, 'c', b.type);
    }

    /** The pooled block whose current result {@code a} covers whole ('c' order, offset 0), or null. */
    static Block blockOf(INDArray a) {
        if (DeviceInfo.cuda() || a.isEmpty()) return null;
        synchronized (NativeMemory.class) {
            Block b = IN_USE.get(a.data());
            return b == null || a.offset() != 0 || a.length() != b.length || !denseRowMajor(a) ? null : b;
        }
    }

    /**
     * Whether {@code a} lays its elements out as a row-major array of its shape: every dimension longer than one has
     * the row-major stride. A unit dimension's stride is never used to address an element, and ND4J does not give it
     * the row-major value ({@code Shape.hasDefaultStridesForShape} says no to a dense {@code (128, 1, 256)}), so it
     * is not compared: a pooled result of such a shape must still be recognised, or its buffer is never given back.
     */
    static boolean denseRowMajor(INDArray a) {
        long[] shape = a.shape(), stride = a.stride();
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    /**
     * {@link #blockOf} {@code a}, counted as one more holder (null for arrays that do not come from the pool).
     * Called once per tensor, when it is created.
     */
    static Block hold(INDArray a) {
        Block b = blockOf(a);
        if (b != null) {
            synchronized (NativeMemory.class) {
                b.holders++;
            }
        }
        return b;
    }

    /**
     * Gives back a temporary array that no tensor holds: a pooled one goes back to the free list, any other is
     * closed. Op code must use this, never {@code close()}, on arrays from {@link #uninitialized}: closing an array
     * frees its buffer, which the pool would hand out again.
     */
    static void discard(INDArray a) {
        Block b;
        synchronized (NativeMemory.class) {
            b = IN_USE.get(a.data());
            if (b != null && b.holders > 0) return;        // a tensor holds it: the tensor gives it back
        }
        if (b != null) giveBack(b);
        else a.close();
    }

    /** One holder of {@code b} lets go; the last one returns the buffer to the free list (or frees it). */
    static void release(Block b) {
        synchronized (NativeMemory.class) {
            if (--b.holders > 0) return;
        }
        giveBack(b);
    }

    private static void giveBack(Block b) {
        java.util.List<Block> evicted = new java.util.ArrayList<>();
        synchronized (NativeMemory.class) {
            if (IN_USE.remove(b.data) == null || b.buffer.wasClosed()) return;   // already back, or freed
            FREE.computeIfAbsent(new Key(b.type, b.capacity), k -> new ArrayDeque<>()).addLast(b);
            FREE_ORDER.add(b);
            b.returnedAt = handouts;
            freeBytes += b.bytes();
            // the oldest free buffers go: those no result took for MAX_AGE handouts (sizes that stopped recurring,
            // such as an expert's row count of an earlier step), and any beyond the cap
            for (var it = FREE_ORDER.iterator(); it.hasNext(); ) {
                Block old = it.next();
                if (old.returnedAt >= handouts - MAX_AGE && freeBytes <= FREE_CAP_BYTES) break;
                it.remove();
                FREE.get(new Key(old.type, old.capacity)).remove(old);
                freeBytes -= old.bytes();
                evicted.add(old);
            }
        }
        for (Block old : evicted) old.buffer.close();
    }

    /** Pooled buffers handed out and not back yet (held by tensors, or temporaries an op has not given back). */
    static synchronized int inUse() {
        return IN_USE.size();
    }

    /** Buffers on the free lists now. */
    static synchronized int freeBuffers() {
        return FREE_ORDER.size();
    }

    /** One line for diagnostics: buffers reused and fresh (and the fresh bytes), free bytes, collections requested. */
    static synchronized String stats() {
        return String.format("pool: %,d reused, %,d fresh (%,d MB), %,d MB free, %,d in use, %,d collections requested",
                reused, fresh, freshBytes >> 20, freeBytes >> 20, IN_USE.size(), collections);
    }
}
