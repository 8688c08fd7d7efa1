package moonlight4j.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** Collective-engine lookup by name ({@code --dist NAME}), like {@link Backends}. */
public final class Collectives {

    private Collectives() {
    }

    /** Every engine on the class path, by name. */
    public static List<CollectiveProvider> providers() {
        List<CollectiveProvider> all = new ArrayList<>();
        ServiceLoader.load(CollectiveProvider.class).forEach(all::add);
        all.sort(Comparator.comparing(CollectiveProvider::name));
        return all;
    }

    /**
     * The engine named {@code name}.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the engines) or an engine that
     *                                  cannot run here (the message says what it needs)
     */
    public static CollectiveProvider get(String name) {
        List<CollectiveProvider> all = providers();
        for (CollectiveProvider p : all) {
            if (p.name().equals(name)) {
                String why = p.unavailableReason();
                if (why != null) throw new IllegalArgumentException("--dist " + name + " cannot run here: " + why);
                return p;
            }
        }
        throw new IllegalArgumentException("unknown collective engine '" + name + "'; available: "
                + (all.isEmpty() ? "(none on the class path)" : all.stream()
                .map(p -> p.name() + (p.unavailableReason() == null ? "" : " (unavailable: " + p.unavailableReason() + ")"))
                .collect(Collectors.joining(", "))));
    }
}
