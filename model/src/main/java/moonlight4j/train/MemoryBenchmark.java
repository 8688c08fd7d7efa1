package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code bench memory}: many Muon training steps of a preset on one backend, printing the process's resident memory,
 * the JVM heap in use and the backend's live tensors as it goes, then whether memory stayed flat. A leak shows as
 * resident memory or live tensors growing step after step; the first steps are excluded from the verdict (the JIT,
 * pools and optimizer state fill up then).
 */
public final class MemoryBenchmark {

    /** Growth of resident memory, after the settling steps, that still counts as flat. */
    static final double FLAT_GROWTH = 0.10;

    private MemoryBenchmark() {
    }

    /** Runs {@code steps} steps; returns true when memory stayed flat (see {@link #FLAT_GROWTH}). */
    public static boolean run(Backend be, String preset, int batch, int seq, int steps, PrintStream out) {
        MoonlightConfig cfg = MoonlightConfig.preset(preset);
        TokenDataset data = TrainBenchmark.randomTokens(cfg, batch, seq);
        TrainOptions opt = new TrainOptions("muon", 1e-3, 0.1, steps, batch, 1, 0, 0, 1e-3, 1, 0);
        int every = Math.max(1, steps / 10), settle = Math.max(1, Math.min(20, steps / 10));
        out.printf(Locale.ROOT, "bench memory %s %dx%d on %s: %d Muon steps; resident memory, heap in use, live "
                + "tensors every %d steps (flat: resident after step %d to the end grows < %.0f%%)%n", preset, batch,
                seq, be.name(), steps, every, settle, 100 * FLAT_GROWTH);
        Parameters params = ModelInit.random(cfg, be, DType.F32, 1);
        long settled = -1, last = -1, liveSettled = -1, liveLast = -1;
        try (Trainer t = new Trainer(be, cfg, params, data, opt)) {
            for (int s = 1; s <= steps; s++) {
                StepReport rep = t.step();
                if (s == settle || s % every == 0 || s == steps) {
                    long rss = residentBytes();
                    Runtime rt = Runtime.getRuntime();
                    out.printf(Locale.ROOT, "step %4d  loss %.4f  %,6.0f ms  resident %,7d MiB  heap %,6d MiB  live "
                                    + "tensors %,d%n", s, rep.loss(), 1e3 * rep.seconds(), rss >> 20,
                            (rt.totalMemory() - rt.freeMemory()) >> 20, be.liveTensors());
                    if (s == settle) {
                        settled = rss;
                        liveSettled = be.liveTensors();
                    }
                    last = rss;
                    liveLast = be.liveTensors();
                }
            }
        } finally {
            params.closeAll();
        }
        if (settled <= 0) {
            out.println("memory: resident size not readable here (/proc/self/status); live tensors " + liveSettled
                    + " → " + liveLast);
            return liveLast <= liveSettled;
        }
        double growth = (double) (last - settled) / settled;
        boolean flat = growth < FLAT_GROWTH && liveLast <= liveSettled;
        out.printf(Locale.ROOT, "memory %s: resident %,d → %,d MiB (%+.1f%%) from step %d to %d; live tensors %,d → %,d%n",
                flat ? "flat" : "NOT flat", settled >> 20, last >> 20, 100 * growth, settle, steps, liveSettled,
                liveLast);
        return flat;
    }

    /** The process's resident set size from /proc/self/status (Linux), or −1. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            return -1;
        }
        return -1;
    }
}
