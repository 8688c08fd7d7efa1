package moonlight4j.nccl;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.javacpp.Loader;

/**
 * Loading of JavaCPP's CUDA runtime and NCCL natives ({@code org.bytedeco:cuda} 11.6-8.3-1.5.7: NCCL 2.11.4, whose
 * JNI wrappers link {@code libcudart.so.11.0} and {@code libnccl.so.2}), done once per JVM, and the error texts of
 * both libraries. Under the default build the natives jar is not on the class path; under {@code -Pcuda}
 * nd4j-cuda-11.6 brings it, and the CUDA 11.6 runtime and NCCL come from the system library path.
 */
final class NcclNatives {

    /** What the engine needs, the start of every "cannot run here" reason. */
    static final String NEEDS = "needs an NVIDIA GPU and driver (libcuda.so.1), the CUDA 11.6 runtime (libcudart.so.11.0) and NCCL 2"
            + " (libnccl.so.2) on the library path, and JavaCPP's CUDA natives (build with -Pcuda)";

    private static String reason;
    private static int devices = -1;

    private NcclNatives() {
    }

    /** Null when the natives load and at least one CUDA device is visible, else the one-line reason. Never throws. */
    static synchronized String unavailableReason() {
        if (devices < 0) probe();
        return reason;
    }

    /** The number of visible CUDA devices; 0 when the engine is unavailable. */
    static synchronized int deviceCount() {
        if (devices < 0) probe();
        return devices;
    }

    /**
     * Loads the natives and counts devices. A failed {@link Loader#load} leaves the class unusable for the rest of
     * the JVM (a second try gives a bare NoClassDefFoundError), so the first answer is kept.
     */
    private static void probe() {
        devices = 0;
        try {
            Loader.load(cudart.class);
            Loader.load(nccl.class);
        } catch (Throwable t) {                 // UnsatisfiedLinkError, NoClassDefFoundError, ExceptionInInitializerError
            reason = NEEDS + "; JavaCPP: " + oneLine(t);
            return;
        }
        try {
            int[] count = {0};
            int rc = cudart.cudaGetDeviceCount(count);
            if (rc != cudart.cudaSuccess) {
                reason = "no usable CUDA device: cudaGetDeviceCount returned " + cudaError(rc);
            } else if (count[0] == 0) {
                reason = "no CUDA device (cudaGetDeviceCount = 0)";
            } else {
                devices = count[0];
            }
        } catch (Throwable t) {
            reason = NEEDS + "; cudaGetDeviceCount failed: " + oneLine(t);
        }
    }

    /** {@code cudaErrorName (code): description} of a CUDA runtime status. */
    static String cudaError(int rc) {
        return cudart.cudaGetErrorName(rc).getString() + " (" + rc + "): " + cudart.cudaGetErrorString(rc).getString();
    }

    /** {@code code (description)} of an NCCL status. */
    static String ncclError(int rc) {
        return rc + " (" + nccl.ncclGetErrorString(rc).getString() + ")";
    }

    /** Throws {@link NcclCallException} naming {@code call} when a CUDA runtime call did not return cudaSuccess. */
    static void cuda(String call, int rc) {
        if (rc != cudart.cudaSuccess) throw new NcclCallException(call + " returned " + cudaError(rc));
    }

    /** Throws {@link NcclCallException} naming {@code call} when an NCCL call did not return ncclSuccess. */
    static void nccl(String call, int rc) {
        if (rc != nccl.ncclSuccess) throw new NcclCallException(call + " returned " + ncclError(rc));
    }

    /**
     * The innermost cause of {@code t} on one line: JavaCPP reports its last fallback ("no jnicudart in
     * java.library.path") and keeps the real failure ("libjnicudart.so: libcuda.so.1: cannot open shared object
     * file") as the cause. Directory lists and cache paths are dropped.
     */
    static String oneLine(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        return root.toString().replaceAll("\\s*\\R\\s*", " ")
                .replaceAll("(java\\.library\\.path): \\S+", "$1")
                .replaceAll("/\\S*/([^/\\s]+\\.so[.0-9]*)", "$1");
    }

    /** A native call that failed; the collective wraps it into a {@code CollectiveException} naming rank and call. */
    static final class NcclCallException extends RuntimeException {
        NcclCallException(String message) {
            super(message);
        }
    }
}
