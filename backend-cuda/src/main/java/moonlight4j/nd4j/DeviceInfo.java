package moonlight4j.nd4j;

import org.nd4j.linalg.api.environment.Nd4jEnvironment;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** The device in words: the GPU name and memory under nd4j-cuda, else the CPU model, threads and BLAS kernel. */
final class DeviceInfo {

    private DeviceInfo() {
    }

    private static volatile Boolean cuda;

    /** True under nd4j-cuda (ND4J's environment is not the CPU one). */
    static boolean cuda() {
        Boolean c = cuda;
        if (c == null) cuda = c = !Nd4j.getEnvironment().isCPU();
        return c;
    }

    static String describe() {
        if (cuda()) return gpu();
        int omp = NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
        return cpuModel() + ", " + blas() + " on " + Nd4j.factory().blas().getMaxThreads() + " threads, other ops on "
                + omp + " OpenMP thread" + (omp == 1 ? "" : "s");
    }

    /**
     * The CPU thread split (nd4j-native only; an explicit {@code OMP_NUM_THREADS} leaves everything as ND4J sets it):
     * libnd4j's element-wise and reduction ops run on 1 OpenMP thread, OpenBLAS's GEMMs on every core (or on
     * {@code OPENBLAS_NUM_THREADS}). Measured on 2 cores
     * ({@code ./moonlight bench train|forward|gemm --backend nd4j}): libnd4j forks and joins its OpenMP team for
     * every op, which on the small tensors of a training step costs far more than it saves (tiny forward 431 →
     * 4,139 tokens/s, Muon step 3.6 → 1.1 s), while one OpenBLAS thread would halve the large GEMMs
     * (1024³: 117 → 205 GFLOP/s with both cores once OpenMP is at 1). Setting OMP_NUM_THREADS=1 alone would tie
     * OpenBLAS (built with OpenMP) to 1 thread too, hence the two calls.
     */
    static void configureCpuThreads() {
        if (cuda() || System.getenv("OMP_NUM_THREADS") != null) return;
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(1);
        int blas = Runtime.getRuntime().availableProcessors();
        String env = System.getenv("OPENBLAS_NUM_THREADS");         // an explicit BLAS thread count wins
        if (env != null && env.trim().matches("[1-9][0-9]{0,3}")) blas = Integer.parseInt(env.trim());
        Nd4j.factory().blas().setMaxThreads(blas);
    }

    /** The BLAS behind matmul. */
    static String blas() {
        if (cuda()) return "cuBLAS";
        String core = System.getenv("OPENBLAS_CORETYPE");
        return "OpenBLAS" + (core == null || core.isBlank() ? " (default kernel)" : " (OPENBLAS_CORETYPE=" + core + ")");
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch") + " CPU";
    }

    /** From ND4J's environment information: the first device's name and total memory. */
    @SuppressWarnings("unchecked")
    private static String gpu() {
        Properties p = Nd4j.getExecutioner().getEnvironmentInformation();
        Object devs = p.get(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY);
        if (devs instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map<?, ?> m) {
            Object name = ((Map<String, Object>) m).get(Nd4jEnvironment.CUDA_DEVICE_NAME_KEY);
            Object mem = ((Map<String, Object>) m).get(Nd4jEnvironment.CUDA_TOTAL_MEMORY_KEY);
            String gib = mem instanceof Number n ? String.format(" %.1f GiB", n.doubleValue() / (1L << 30)) : "";
            return name + gib + (list.size() > 1 ? " (device 0 of " + list.size() + ")" : "") + ", cuBLAS";
        }
        return "CUDA GPU (ND4J reported no device information)";
    }
}
