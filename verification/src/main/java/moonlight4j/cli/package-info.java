/**
 * The {@code moonlight} command line (picocli); {@code ./moonlight} at the repository root builds and runs it. Each
 * command is a thin layer over the library: it parses flags, names the backend it runs on, and calls the model,
 * optimizer, training or verifier classes.
 *
 * <p>Reading order: {@link moonlight4j.cli.Main} (the command list) → {@link moonlight4j.cli.BackendOption} (the
 * shared {@code --backend} rule) → {@link moonlight4j.cli.ExplainCommand} (the guided tour of one Muon step,
 * docs/muon.md#moonlight-explain) → {@link moonlight4j.cli.VerifyCommand} → {@link moonlight4j.cli.InspectCommand} →
 * {@link moonlight4j.cli.TrainCommand} (with {@link moonlight4j.cli.DistOption}, {@link moonlight4j.cli.DistTrain},
 * {@link moonlight4j.cli.TrainReport}) → {@link moonlight4j.cli.SftCommand} and {@link moonlight4j.cli.SftFlags} →
 * {@link moonlight4j.cli.GenerateCommand} → {@link moonlight4j.cli.BackendsCommand} →
 * {@link moonlight4j.cli.BenchCommand}
 * ({@link moonlight4j.cli.ForwardBench}, {@link moonlight4j.cli.TrainBench}, {@link moonlight4j.cli.GenerateBench}).
 * Two measurements run as plain main classes from the scripts: {@link moonlight4j.cli.BenchTable}
 * ({@code scripts/bench-table.sh}) and {@link moonlight4j.cli.MemoryCheck} (the off-heap leak check of
 * {@code scripts/gpu-check.sh}).
 */
package moonlight4j.cli;
