package moonlight4j.nd4j;

import moonlight4j.api.Backend;
import moonlight4j.api.BackendProvider;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Registers the {@code nd4j} backend; its priority is set by the build flavour (see {@link #priority()}). Loading
 * ND4J's natives is tried
 * once; any {@link Throwable} (missing native library, wrong CPU, no CUDA driver) becomes a one-line reason so the
 * CLI can fall back to {@code cpu} and say why.
 */
public final class Nd4jBackendProvider implements BackendProvider {

    private static volatile String probe; // null = not probed yet; "" = available; else the reason
    private static volatile Nd4jBackend instance;

    @Override
    public String name() {
        return Nd4jBackend.NAME;
    }

    /**
     * The build flavour's priority ({@code nd4j.priority} in backend-cuda/pom.xml, written into
     * {@code moonlight4j-nd4j.properties}): 10 under {@code -Pcuda}, where the device is meant to outrank the oracle;
     * −10 with nd4j-native, because on a CPU the oracle is the faster backend for the job the CLI runs by default
     * (measured on 2 cores, {@code scripts/bench-table.sh}, {@code bench train --preset tiny}: Muon step 407 ms on
     * cpu vs 777 ms on nd4j on 2026-12-04; per-op work dominates these small tensors). On wide models nd4j is
     * ahead (the small preset at 64×128 in the same run: Muon step 27.4 s against 33.6 s, AdamW step 16.7 s
     * against 25.4 s).
     * Choose it with {@code --backend nd4j}.
     */
    @Override
    public int priority() {
        return PRIORITY;
    }

    private static final int PRIORITY = readPriority();

    private static int readPriority() {
        try (var in = Nd4jBackendProvider.class.getResourceAsStream("/moonlight4j-nd4j.properties")) {
            if (in == null) throw new IllegalStateException("moonlight4j-nd4j.properties missing from backend-cuda");
            var props = new java.util.Properties();
            props.load(in);
            return Integer.parseInt(props.getProperty("priority").trim());
        } catch (java.io.IOException | NumberFormatException e) {
            throw new IllegalStateException("backend-cuda: bad moonlight4j-nd4j.properties: " + e.getMessage(), e);
        }
    }

    @Override
    public String unavailableReason() {
        String p = probe;
        if (p == null) {
            synchronized (Nd4jBackendProvider.class) {
                if (probe == null) probe = tryLoad();
                p = probe;
            }
        }
        return p.isEmpty() ? null : p;
    }

    /** Initialises ND4J and runs one tiny op; returns "" on success, else the reason in one line. */
    private static String tryLoad() {
        try {
            INDArray a = Nd4j.create(new float[]{1f, 2f}, new long[]{2}, DataType.FLOAT);
            float s = a.sumNumber().floatValue();
            a.close();
            if (s != 3f) return "ND4J self-test gave 1 + 2 = " + s;
            return "";
        } catch (Throwable t) {
            Throwable root = t;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            String msg = t.getClass().getSimpleName() + ": " + t.getMessage()
                    + (root != t ? " (cause: " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")" : "");
            return "ND4J natives did not load: " + msg.replace('\n', ' ');
        }
    }

    @Override
    public Backend create() {
        if (unavailableReason() != null) throw new IllegalStateException("nd4j: " + unavailableReason());
        Nd4jBackend b = instance;
        if (b == null) {
            synchronized (Nd4jBackendProvider.class) {
                if (instance == null) {
                    DeviceInfo.configureCpuThreads();
                    instance = new Nd4jBackend();
                }
                b = instance;
            }
        }
        return b;
    }
}
