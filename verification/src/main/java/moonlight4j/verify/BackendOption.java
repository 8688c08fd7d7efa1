package moonlight4j.verify;

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

    /**
     * Uses {@code name} when neither {@code --backend} nor {@code $MOONLIGHT_BACKEND} chose one (the training
     * commands default to the cpu oracle: on 2 cores the nd4j backend measured 39 s per tiny Muon step vs ≈ 1 s).
     */
    public void defaultTo(String fallback) {
        if (this.name == null && System.getenv("MOONLIGHT_BACKEND") == null) this.name = fallback;
    }
}
