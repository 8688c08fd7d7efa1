package moonlight4j.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code metrics.csv}: one row per optimizer step — {@code run, step, tokens, loss, val_loss} (empty when not
 * evaluated), {@code lr, grad_norm, tokens_per_s, optimizer_s, max_attn_logit, max_load_violation}, then
 * {@code update_rms:<param>} and {@code weight_rms:<param>} for every matrix parameter (paper Table 1,
 * docs/muon.md#update-scale). Rows of several runs (Muon and AdamW) share one file, told apart by {@code run}.
 */
public final class MetricsCsv implements AutoCloseable {

    private final Path file;
    private BufferedWriter out;
    private final List<String> matrices;

    /** Opens {@code file} (appending when it exists with the same header, else writing a header). */
    public MetricsCsv(Path file, List<String> matrices) throws IOException {
        this.file = file;
        this.matrices = List.copyOf(matrices);
        StringBuilder h = new StringBuilder("run,step,tokens,loss,val_loss,lr,grad_norm,tokens_per_s,optimizer_s,"
                + "max_attn_logit,max_load_violation,expert_load");
        for (String m : matrices) h.append(",update_rms:").append(m);
        for (String m : matrices) h.append(",weight_rms:").append(m);
        boolean append = Files.isRegularFile(file) && Files.size(file) > 0
                && Files.readAllLines(file, StandardCharsets.UTF_8).get(0).equals(h.toString());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
        if (!append) {
            out.write(h.toString());
            out.newLine();
        }
    }

    /**
     * Removes the rows of {@code run} past {@code step}: a run resumed at {@code step} (or started afresh, step 0)
     * writes those steps again, so the rows a killed run left behind would otherwise appear twice. A row a kill cut
     * short goes too.
     */
    public void dropRowsAfter(String run, int step) throws IOException {
        out.close();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> kept = new java.util.ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String[] f = lines.get(i).split(",", 3);
            boolean cut = i > 0 && (f.length < 3 || !f[1].matches("\\d{1,9}"));    // a row a kill cut short
            boolean later = i > 0 && !cut && f[0].equals(run) && Integer.parseInt(f[1]) > step;
            if (!cut && !later) kept.add(lines.get(i));
        }
        if (kept.size() != lines.size()) {
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".metrics.", ".tmp");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /** One row; {@code valLoss} NaN = not evaluated at this step. */
    public void row(String run, StepReport r, long tokens, double valLoss, Map<String, Double> weightRms) {
        try {
            StringBuilder b = new StringBuilder();
            b.append(run).append(',').append(r.step()).append(',').append(tokens).append(',').append(num(r.loss()))
                    .append(',').append(Double.isNaN(valLoss) ? "" : num(valLoss)).append(',').append(num(r.lr()))
                    .append(',').append(num(r.gradNorm())).append(',').append(num(r.tokens() / r.seconds()))
                    .append(',').append(num(r.optimizerSeconds())).append(',').append(num(r.maxAttnLogit()))
                    .append(',').append(num(r.maxLoadViolation())).append(',').append(load(r.expertLoad()));
            for (String m : matrices) {
                Double u = r.updateRms().get(m);
                b.append(',').append(u == null ? "" : num(u));          // empty: grad None this step
            }
            for (String m : matrices) b.append(',').append(num(weightRms.getOrDefault(m, Double.NaN)));
            out.write(b.toString());
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Per-expert selections of the step, {@code L1=12/30/...;L2=...} (layer index, counts per expert). */
    private static String load(Map<Integer, long[]> load) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<Integer, long[]> e : load.entrySet()) {
            if (b.length() > 0) b.append(';');
            b.append('L').append(e.getKey()).append('=');
            long[] c = e.getValue();
            for (int i = 0; i < c.length; i++) b.append(i == 0 ? "" : "/").append(c[i]);
        }
        return b.toString();
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
