package moonlight4j.cpu;

import moonlight4j.api.Backend;
import moonlight4j.api.BackendProvider;

/** Provider of the {@code cpu} oracle: priority 0, runs everywhere, one shared instance per JVM. */
public final class CpuBackendProvider implements BackendProvider {

    private static volatile CpuBackend shared;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    /** Null (the oracle runs everywhere) unless the thread-count property is malformed. */
    @Override
    public String unavailableReason() {
        try {
            CpuDataOps.threadsFromProperty();
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    @Override
    public Backend create() {
        CpuBackend b = shared;
        if (b == null) {
            synchronized (CpuBackendProvider.class) {
                b = shared;
                if (b == null) shared = b = new CpuBackend();
            }
        }
        return b;
    }
}
