package moonlight4j.cli;

import moonlight4j.train.TrainRun;

import moonlight4j.api.Backend;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.train.MetricsCsv;
import moonlight4j.train.TrainOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code moonlight train --dist local --ranks N} / {@code mpirun -np N moonlight train --dist mpi}: every rank runs
 * the same runs on its block of each global batch ({@code --batch} is the GLOBAL batch); rank 0 alone shows progress,
 * evaluates, writes metrics, the report and the model. With {@code --save-every} every rank writes its ZeRO-1
 * optimizer shard into the checkpoint and rank 0 the model (TrainCheckpoint: all ranks or none); {@code --resume}
 * takes a checkpoint of any world size, one process's included, and re-partitions its optimizer state.
 */
final class DistTrain {

    private DistTrain() {
    }

    /** Rank 0's results, or null in a process whose rank is not 0. */
    static List<TrainRun.Result> run(DistOption dist, Backend be, MoonlightConfig cfg, Parameters initial,
                                     TokenDataset train, TokenDataset val, TrainOptions base, List<String> opts,
                                     Path dir, List<String> matrices, int evalEvery, int evalChunks, Path resume) {
        List<List<TrainRun.Result>> all = dist.launch(c -> {
            boolean lead = c.rank() == 0;
            List<TrainRun.Result> results = new ArrayList<>();
            try (MetricsCsv metrics = lead ? new MetricsCsv(dir.resolve("metrics.csv"), matrices) : null) {
                for (String o : opts) {
                    Parameters p = new Parameters();
                    for (String n : initial.names()) p.put(n, be.copy(initial.get(n)));
                    TrainOptions to = base.withOptimizer(o, base.lr(), base.weightDecay());
                    TrainRun.Result r = TrainRun.run(be, cfg, p, train, lead ? val : null, to, resume, dir.resolve(o),
                            metrics, evalEvery, evalChunks, !lead, c);
                    if (lead) results.add(r);
                    else r.trainer().close();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return lead ? results : null;
        });
        for (List<TrainRun.Result> r : all) if (r != null) return r;
        return null;
    }
}
