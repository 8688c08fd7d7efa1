/**
 * Training: toy_train's loop (docs/muon.md#training-loop-and-schedule) around the model's backward passes.
 *
 * <p>Reading order: {@link moonlight4j.train.Trainer} (one optimizer step: micro-batch forward,
 * {@link moonlight4j.model.CausalLmLoss}, backward into a name-keyed {@link moonlight4j.model.Grads} map, finite
 * check, {@link moonlight4j.optim.GradClip}, the Muon/AdamW step with grad-None semantics, the
 * {@link moonlight4j.train.LoadBalancer} bias update of docs/model.md#load-balancing) →
 * {@link moonlight4j.train.LrSchedule} (toy_train's warm-up + cosine) → {@link moonlight4j.train.TrainCheckpoint}
 * and {@link moonlight4j.train.DistCheckpoint} (atomic checkpoints, bit-identical resume, ZeRO-1 shards) →
 * {@link moonlight4j.train.TrainRun} (a run: progress, evaluation, checkpoints, {@link moonlight4j.train.MetricsCsv},
 * {@link moonlight4j.train.LossPlot}) → {@link moonlight4j.train.ArithmeticExperiment}, the embedded default job.
 * The command line ({@code moonlight train}, {@code moonlight bench train}) is in {@code moonlight4j.cli}.
 */
package moonlight4j.train;
