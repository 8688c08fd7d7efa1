package moonlight4j.nccl;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

import static moonlight4j.nccl.NcclNatives.cuda;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

/**
 * One rank's scratch memory: a device buffer that every collective runs on in place, and a pinned host buffer of the
 * same size that the Java arrays are staged through, so both copies are {@code cudaMemcpyAsync} on the rank's stream
 * and one bounded wait covers copy in, collective and copy out. Both grow to the largest payload asked for (never
 * more) and are reused; {@link #close()} frees them.
 */
final class Staging implements AutoCloseable {

    private final CUstream_st stream;
    private long capacity;                       // bytes of each buffer
    private long device;                         // addresses; 0 before the first payload
    private long host;

    Staging(CUstream_st stream) {
        this.stream = stream;
    }

    /** Makes both buffers hold at least {@code bytes}; the old contents are dropped. Needs the rank's device current. */
    void ensure(long bytes) {
        if (bytes <= capacity) return;
        free();
        Pointer d = new Pointer();
        cuda("cudaMalloc(" + bytes + " B)", cudaMalloc(d, bytes));
        device = d.address();
        Pointer h = new Pointer();
        cuda("cudaMallocHost(" + bytes + " B)", cudaMallocHost(h, bytes));   // on failure free() still frees d
        host = h.address();
        capacity = bytes;
    }

    /** The device buffer from byte {@code offset}. */
    Pointer device(long offset) {
        return new Address(device + offset);
    }

    /** The pinned host buffer from byte {@code offset}, as floats. */
    FloatPointer hostFloats(long offset) {
        return new FloatPointer(new Address(host + offset));
    }

    /** The pinned host buffer from byte {@code offset}, as 16-bit words. */
    ShortPointer hostShorts(long offset) {
        return new ShortPointer(new Address(host + offset));
    }

    /** The pinned host buffer from byte {@code offset}, as 64-bit words. */
    LongPointer hostLongs(long offset) {
        return new LongPointer(new Address(host + offset));
    }

    /** Enqueues host[from, from+bytes) → device[from, from+bytes). */
    void toDevice(long from, long bytes) {
        cuda("cudaMemcpyAsync(host → device, " + bytes + " B)",
                cudaMemcpyAsync(device(from), new Address(host + from), bytes, cudaMemcpyHostToDevice, stream));
    }

    /** Enqueues device[from, from+bytes) → host[from, from+bytes). */
    void toHost(long from, long bytes) {
        cuda("cudaMemcpyAsync(device → host, " + bytes + " B)",
                cudaMemcpyAsync(new Address(host + from), device(from), bytes, cudaMemcpyDeviceToHost, stream));
    }

    @Override
    public void close() {
        free();
    }

    private void free() {
        long d = device, h = host;
        device = host = capacity = 0;
        if (d != 0) cuda("cudaFree", cudaFree(new Address(d)));
        if (h != 0) cuda("cudaFreeHost", cudaFreeHost(new Address(h)));
    }

    /** A raw address as a JavaCPP pointer (no deallocator: the memory is freed explicitly above). */
    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }
}
