package moonlight4j.nd4j;

import org.nd4j.linalg.api.environment.Nd4jEnvironment;
import org.nd4j.linalg.factory.Nd4j;

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
        return cpuModel() + ", " + Nd4j.getEnvironment().maxMasterThreads() + " threads, " + blas();
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
