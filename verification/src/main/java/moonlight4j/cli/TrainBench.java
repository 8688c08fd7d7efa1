package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.BackendProvider;
import moonlight4j.api.Backends;
import moonlight4j.train.TrainBenchmark;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code moonlight bench train --preset NAME --shape BxT [--backend NAME] [--peak GFLOPS]}: Muon and AdamW training
 * steps on the named backend, or, without {@code --backend} and {@code MOONLIGHT_BACKEND}, on every backend that
 * can run here, side by side ({@link TrainBenchmark} measures and prints).
 */
final class TrainBench {

    private TrainBench() {
    }

    static void run(BackendOption backend, String preset, int batch, int seq, int warmup, int reps, double peak) {
        List<Backend> backends = new ArrayList<>();
        String env = System.getenv(Backends.ENV);
        if (backend.name != null || (env != null && !env.isBlank())) {
            backends.add(backend.resolve());
        } else {
            for (BackendProvider p : Backends.providers()) {
                if (p.unavailableReason() != null) continue;
                Backend be = p.create();
                System.out.println("backend: " + be.name() + " (" + be.device() + ")");
                backends.add(be);
            }
        }
        TrainBenchmark.run(backends, preset == null ? "tiny" : preset, batch, seq, warmup, reps, peak, System.out);
    }
}
