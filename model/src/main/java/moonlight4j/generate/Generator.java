package moonlight4j.generate;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.model.CachedModel;
import moonlight4j.model.MlaCache;
import moonlight4j.model.MlaDecoding;
import moonlight4j.model.MoonlightModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Prefill + incremental decoding over the compressed MLA cache ({@link MlaCache}, docs/model.md#compressed-cache). Prompts of different
 * lengths are left-padded to a common length: pad slots are masked out as keys and positions count real tokens only,
 * so every row produces what it would alone (tested). Per step: logits of each row's last token → {@link Sampler} →
 * the new token is fed back as a one-token step. A row stops at a stop id, at {@code maxNewTokens}, or when its
 * length reaches the model's context ({@code max_position_embeddings}). Non-finite logits stop the run with an
 * {@link IllegalStateException} before anything is sampled from them.
 */
public final class Generator {

    /** Receives each new token as soon as it is chosen (for streaming). */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int row, long token);
    }

    /** Why a row ended. */
    public enum Finish { STOP_TOKEN, MAX_NEW_TOKENS, CONTEXT }

    /**
     * @param tokens     per row the new tokens (a stop token, when hit, is the last one)
     * @param finish     per row why it ended
     * @param stepLogits per row, when asked for: the fp32 logits {@code (steps, V)} each token was chosen from
     * @param prefillNanos time of the prompt step; {@code decodeNanos} the time of all later steps
     */
    public record Result(long[][] tokens, Finish[] finish, float[][] stepLogits, long cacheBytes,
                         long prefillNanos, long decodeNanos) {
    }

    private final CachedModel cached;
    private final Backend be;
    private final int vocab, context;

    /** Decoding with {@link MlaDecoding#RECOMPUTE} (bit-identical to a full re-run on the reference backend). */
    public Generator(MoonlightModel model) {
        this(model, MlaDecoding.RECOMPUTE);
    }

    public Generator(MoonlightModel model, MlaDecoding mode) {
        this.cached = new CachedModel(model, mode);
        this.be = model.backend();
        this.vocab = model.config().vocabSize();
        this.context = model.config().maxPositionEmbeddings();
    }

    /**
     * Continues every prompt.
     *
     * @param prompts    {@code [B][T_b]}, each row at least one token, at most the context length
     * @param keepLogits whether to return the logits of every step
     * @param listener   called for each new token of each row, in step order (may be null)
     */
    public Result generate(long[][] prompts, GenerationConfig cfg, boolean keepLogits, TokenListener listener) {
        int b = prompts.length;
        if (b == 0) throw new IllegalArgumentException("generate: no prompts");
        int width = 0;
        for (int i = 0; i < b; i++) {
            if (prompts[i].length == 0) throw new IllegalArgumentException("generate: prompt " + i + " is empty");
            if (prompts[i].length > context) {
                throw new IllegalArgumentException("generate: prompt " + i + " has " + prompts[i].length
                        + " tokens, more than the model's context of " + context + " (max_position_embeddings)");
            }
            width = Math.max(width, prompts[i].length);
        }
        // left padding: row i starts at slot pad_i = width − T_i; positions count real tokens only
        long[][] ids = new long[b][width], pos = new long[b][width];
        boolean[][] real = new boolean[b][width];
        int[] length = new int[b];
        for (int i = 0; i < b; i++) {
            int pad = width - prompts[i].length;
            for (int j = pad; j < width; j++) {
                ids[i][j] = prompts[i][j - pad];
                pos[i][j] = j - pad;
                real[i][j] = true;
            }
            length[i] = prompts[i].length;
        }
        Sampler[] samplers = new Sampler[b];
        for (int i = 0; i < b; i++) samplers[i] = new Sampler(cfg.temperature(), cfg.topK(), cfg.topP(), cfg.seed() + i);
        List<List<Long>> out = new ArrayList<>();
        List<List<float[]>> logitsOut = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            out.add(new ArrayList<>());
            logitsOut.add(new ArrayList<>());
        }
        Finish[] finish = new Finish[b];
        for (int i = 0; i < b; i++) {
            if (cfg.maxNewTokens() == 0) finish[i] = Finish.MAX_NEW_TOKENS;
            else if (length[i] >= context) finish[i] = Finish.CONTEXT;
        }

        long t0 = System.nanoTime(), tPrefill = 0, cacheBytes;
        try (MlaCache cache = cached.newCache(b)) {
            long[][] stepIds = ids, stepPos = pos;
            boolean[][] stepReal = real;
            for (int k = 0; !allDone(finish); k++) {
                float[] logits;
                try (TensorScope step = TensorScope.open()) {                 // the step's tensors; the cache lives on
                    logits = be.toFloats(cached.step(stepIds, stepPos, stepReal, cache));          // (B, V)
                }
                if (k == 0) tPrefill = System.nanoTime() - t0;
                for (int i = 0; i < b; i++) if (finish[i] == null) checkFinite(logits, i, k);
                stepIds = new long[b][1];
                stepPos = new long[b][1];
                stepReal = new boolean[b][1];
                for (int i = 0; i < b; i++) {
                    long next = finish[i] == null ? samplers[i].sample(logits, i * vocab, vocab)
                            : lastToken(prompts[i], out.get(i));                                  // finished: filler
                    if (finish[i] == null) {
                        out.get(i).add(next);
                        if (keepLogits) logitsOut.get(i).add(Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab));
                        if (listener != null) listener.onToken(i, next);
                        length[i]++;
                        if (cfg.stopIds().contains(next)) finish[i] = Finish.STOP_TOKEN;
                        else if (out.get(i).size() >= cfg.maxNewTokens()) finish[i] = Finish.MAX_NEW_TOKENS;
                        else if (length[i] >= context) finish[i] = Finish.CONTEXT;
                    }
                    stepIds[i][0] = next;
                    stepPos[i][0] = length[i] - 1;
                    stepReal[i][0] = true;
                }
            }
            cacheBytes = cache.bytes();
        }
        long total = System.nanoTime() - t0;
        long[][] tokens = new long[b][];
        float[][] stepLogits = keepLogits ? new float[b][] : null;
        for (int i = 0; i < b; i++) {
            tokens[i] = out.get(i).stream().mapToLong(Long::longValue).toArray();
            if (keepLogits) {
                List<float[]> rows = logitsOut.get(i);
                stepLogits[i] = new float[rows.size() * vocab];
                for (int s = 0; s < rows.size(); s++) System.arraycopy(rows.get(s), 0, stepLogits[i], s * vocab, vocab);
            }
        }
        return new Result(tokens, finish, stepLogits, cacheBytes, tPrefill, total - tPrefill);
    }

    /**
     * Sampling from NaN or ±Inf logits would pick an arbitrary id (argmax over NaN is id 0); the run stops instead,
     * naming the row, the step and the first offending id.
     */
    private void checkFinite(float[] logits, int row, int step) {
        for (int v = 0; v < vocab; v++) {
            float x = logits[row * vocab + v];
            if (!Float.isFinite(x)) {
                throw new IllegalStateException("generate: the model produced a non-finite logit (" + x + " for token id "
                        + v + ") at step " + step + " of prompt " + row + "; its activations overflowed fp32 — check "
                        + "the weights and config values such as routed_scaling_factor and rms_norm_eps");
            }
        }
    }

    private static boolean allDone(Finish[] finish) {
        for (Finish f : finish) if (f == null) return false;
        return true;
    }

    private static long lastToken(long[] prompt, List<Long> out) {
        return out.isEmpty() ? prompt[prompt.length - 1] : out.get(out.size() - 1);
    }
}
