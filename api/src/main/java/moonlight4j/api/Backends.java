package moonlight4j.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Backend lookup, one rule for every command: an explicit name ({@code --backend NAME}) wins, then the
 * environment variable {@value #ENV}, then the available provider with the highest priority.
 */
public final class Backends {

    /** Environment variable naming the backend when no {@code --backend} flag is given. */
    public static final String ENV = "MOONLIGHT_BACKEND";

    private Backends() {
    }

    /** Every provider on the class path, highest priority first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> all = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(all::add);
        all.sort(Comparator.comparingInt(BackendProvider::priority).reversed()
                .thenComparing(BackendProvider::name));
        return all;
    }

    /**
     * The backend named {@code name}; when {@code name} is null or blank, the one named by {@value #ENV}; when
     * that is unset too, the highest-priority provider that can run here.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the available backends) or a
     *                                  backend that cannot run here (the message says why)
     */
    public static Backend get(String name) {
        return get(name, System.getenv(ENV));
    }

    /** {@link #get(String)} with the environment value passed in (for tests). */
    static Backend get(String name, String envValue) {
        List<BackendProvider> all = providers();
        String wanted = name != null && !name.isBlank() ? name.trim()
                : envValue != null && !envValue.isBlank() ? envValue.trim() : null;
        if (wanted == null) {
            for (BackendProvider p : all) {
                if (p.unavailableReason() == null) return p.create();
            }
            throw new IllegalStateException("no backend can run here: " + describe(all));
        }
        for (BackendProvider p : all) {
            if (p.name().equals(wanted)) {
                String why = p.unavailableReason();
                if (why != null) {
                    throw new IllegalArgumentException("backend '" + wanted + "' cannot run here: " + why);
                }
                return p.create();
            }
        }
        throw new IllegalArgumentException("unknown backend '" + wanted + "'; available: " + describe(all));
    }

    private static String describe(List<BackendProvider> all) {
        if (all.isEmpty()) return "(none on the class path)";
        return all.stream()
                .map(p -> p.name() + (p.unavailableReason() == null ? "" : " (unavailable: " + p.unavailableReason() + ")"))
                .collect(Collectors.joining(", "));
    }
}
