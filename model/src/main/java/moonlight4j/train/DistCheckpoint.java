package moonlight4j.train;

import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveException;
import moonlight4j.model.MoonlightCheckpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * The data-parallel side of {@link TrainCheckpoint}: the save every rank takes part in, phase by phase with
 * the ranks agreeing after each, and the agreement that every rank could read a checkpoint before resuming.
 */
final class DistCheckpoint {

    private static final String TOKEN = ".token";

    private DistCheckpoint() {
    }

    /**
     * The data-parallel save, four agreed phases: rank 0 prepares {@code .step-N.partial} (removing stale partial
     * directories of crashed saves); every rank checks it sees it; every rank writes its shard (rank 0 also the
     * model and trainer_state.json); rank 0 renames it to {@code step-N} and moves {@code latest}. After each phase the
     * ranks all-gather a failure flag, so they fail together, naming the ranks that failed; a rank that dies makes
     * the others' next agreement time out. Either way {@code latest} still names the previous complete checkpoint.
     */
    static Path save(Trainer t, Collective c, Path checkpoints, String datasetName, TrainCheckpoint.SaveHook hook)
            throws IOException {
        int r = c.rank(), n = c.worldSize();
        String name = TrainCheckpoint.stepName(t);
        Path tmp = checkpoints.resolve("." + name + ".partial");
        Runnable cleanUp = () -> {
            if (r == 0) {
                try {
                    TrainCheckpoint.deleteTree(tmp);
                } catch (IOException ignored) {
                    // the next save removes stale partial directories
                }
            }
        };
        String err = null;
        long token = new SecureRandom().nextLong() | 1;                // rank 0's mark on the directory it created
        if (r == 0) {
            try {
                Files.createDirectories(checkpoints);
                TrainCheckpoint.removeLeftovers(checkpoints);
                Files.createDirectories(tmp);
                Files.writeString(tmp.resolve(TOKEN), Long.toString(token), StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                err = e.toString();
            }
        }
        agree(c, name, "preparing " + tmp, err, null);
        checkSameDirectory(c, name, tmp, cleanUp);
        err = null;
        try {
            TrainCheckpoint.writeOptimizer(t.optimizer(), t.options().optimizer(),
                    tmp.resolve(TrainCheckpoint.optimizerFile(r, n, true)));
            hook.afterPart("optimizer-rank-" + r);
            if (r == 0) {
                MoonlightCheckpoint.save(tmp.resolve("model"), t.config(), t.parameters());
                hook.afterPart("model");
                List<String> files = new ArrayList<>();
                for (int q = 0; q < n; q++) files.add(TrainCheckpoint.optimizerFile(q, n, true));
                TrainCheckpoint.writeTrainerState(t, tmp, datasetName, n, files);
                hook.afterPart("trainer_state");
            }
        } catch (IOException | RuntimeException e) {
            err = e.toString();
        }
        agree(c, name, "writing the shards", err, cleanUp);
        err = null;
        if (r == 0) {
            try {
                for (int q = 0; q < n; q++) {                              // every shard landed in this directory
                    Path f = tmp.resolve(TrainCheckpoint.optimizerFile(q, n, true));
                    if (!Files.isRegularFile(f)) throw new IOException("rank " + q + "'s shard " + f + " is missing");
                }
                Files.delete(tmp.resolve(TOKEN));
                TrainCheckpoint.commit(checkpoints, tmp, name);
            } catch (IOException | RuntimeException e) {
                err = e.toString();
            }
        }
        agree(c, name, "renaming " + tmp + " to " + name, err, cleanUp);
        return checkpoints.resolve(name);
    }

    /**
     * Every rank reads the token rank 0 wrote into {@code tmp} and the ranks compare what they read: a rank that
     * cannot see the directory, or sees another one of the same name (a machine without the shared filesystem, with
     * a stale directory of its own), fails the save on every rank before any shard is written.
     */
    private static void checkSameDirectory(Collective c, String name, Path tmp, Runnable cleanUp) throws IOException {
        long seen;
        try {
            seen = Long.parseLong(Files.readString(tmp.resolve(TOKEN), StandardCharsets.UTF_8).trim());
        } catch (IOException | RuntimeException e) {
            seen = 0;
        }
        long[] all = new long[c.worldSize()];
        c.allGatherLongs(new long[]{seen}, all);
        List<Integer> blind = new ArrayList<>();
        for (int q = 1; q < all.length; q++) if (all[q] != all[0]) blind.add(q);
        if (blind.isEmpty()) return;
        cleanUp.run();
        throw new IOException("checkpoint " + name + " not written: rank(s) " + blind + " do not see the directory "
                + tmp + " that rank 0 created (ranks on several machines need --out on a shared filesystem for "
                + "--save-every); the previous checkpoint (if any) is still the latest");
    }

    /**
     * Every rank learns whether any rank failed {@code phase}; when one did, {@code onFailure} runs and every rank
     * throws an IOException naming the failed ranks (and this rank's own error).
     */
    private static void agree(Collective c, String name, String phase, String localError, Runnable onFailure)
            throws IOException {
        long[] all = new long[c.worldSize()];
        c.allGatherLongs(new long[]{localError == null ? 0 : 1}, all);
        List<Integer> failed = new ArrayList<>();
        for (int q = 0; q < all.length; q++) if (all[q] != 0) failed.add(q);
        if (failed.isEmpty()) return;
        if (onFailure != null) onFailure.run();
        throw new IOException("checkpoint " + name + " not written: rank(s) " + failed + " failed " + phase
                + (localError != null ? "; on rank " + c.rank() + ": " + localError : "")
                + "; the previous checkpoint (if any) is still the latest");
    }

    /**
     * The ranks of a data-parallel resume agree that each could read the checkpoint before the optimizer's
     * collectives start, and that they read the same one: a rank that failed rethrows its own error, the others a
     * CollectiveException naming it (so they stop at once rather than time out waiting for it); ranks that read
     * checkpoints of different steps or data positions (another --resume, or a `latest` that moved) all fail.
     *
     * @param position the (step, epoch, position) this rank read, null when it failed
     */
    static void agreeRead(Collective c, Path checkpoint, Exception mine, long[] position) {
        int n = c.worldSize();
        long[] all = new long[4 * n];
        long[] me = mine != null || position == null ? new long[]{1, 0, 0, 0}
                : new long[]{0, position[0], position[1], position[2]};
        c.allGatherLongs(me, all);
        List<Integer> failed = new ArrayList<>(), other = new ArrayList<>();
        for (int q = 0; q < n; q++) {
            if (all[4 * q] != 0) failed.add(q);
            else if (all[4 * q + 1] != all[1] || all[4 * q + 2] != all[2] || all[4 * q + 3] != all[3]) other.add(q);
        }
        if (!failed.isEmpty() && mine == null) {
            throw new CollectiveException("--resume " + checkpoint + ": rank(s) " + failed
                    + " could not read the checkpoint (their error says why); rank " + c.rank() + " stops too");
        }
        if (failed.isEmpty() && !other.isEmpty()) {
            StringBuilder read = new StringBuilder();
            for (int q = 0; q < n; q++) {
                read.append(q == 0 ? "" : ", ").append("rank ").append(q).append(": step ").append(all[4 * q + 1])
                        .append(" epoch ").append(all[4 * q + 2]).append(" position ").append(all[4 * q + 3]);
            }
            throw new IllegalArgumentException("--resume: rank(s) " + other + " read a checkpoint of another step or data"
                    + " position than rank 0 (" + read + "); start every rank with the same --resume (this rank "
                    + c.rank() + " read " + checkpoint + ")");
        }
    }
}
