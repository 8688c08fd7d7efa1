/**
 * Training (issue 6). Reading order: {@link moonlight4j.train.Trainer} (one optimizer step: micro-batch forward,
 * {@link moonlight4j.model.CausalLmLoss}, backward into a name-keyed {@link moonlight4j.model.Grads} map, finite
 * check, {@link moonlight4j.train.GradClip}, Muon/AdamW step with grad-None semantics,
 * {@link moonlight4j.train.LoadBalancer} bias update, SPEC §5), {@link moonlight4j.train.LrSchedule} (toy_train's
 * warm-up + cosine), {@link moonlight4j.train.TrainCheckpoint} (atomic checkpoints, bit-identical resume),
 * {@link moonlight4j.train.MetricsCsv}, and the embedded default {@link moonlight4j.train.ArithmeticExperiment}.
 * The command line ({@code moonlight train}, {@code moonlight bench train}) lives in the verification module.
 */
package moonlight4j.train;
