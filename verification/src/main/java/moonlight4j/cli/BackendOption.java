package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import picocli.CommandLine.Option;

/** The {@code --backend} flag shared by every command: one lookup rule ({@link Backends#get}), always announced. */
public final class BackendOption {

    @Option(names = "--backend", paramLabel = "NAME",
            description = "backend to run on (default: $MOONLIGHT_BACKEND, else the fastest available)")
    String name;

    /** Resolves the backend and prints which one runs, so every command says where it ran. */
    public Backend resolve() {
        Backend be = Backends.get(name);
        System.out.println("backend: " + be.name() + " (" + be.device() + ")");
        return be;
    }
}
