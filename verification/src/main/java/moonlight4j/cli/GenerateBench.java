package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.generate.GenerationConfig;
import moonlight4j.generate.Generator;
import moonlight4j.model.Generation;
import moonlight4j.model.MlaCache;
import moonlight4j.model.MlaDecoding;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;

import java.util.Arrays;
import java.util.Random;

/**
 * {@code moonlight bench generate --preset NAME --shape BxTxN}: greedy decoding of N new tokens after B random prompts
 * of T tokens, with the compressed cache in both modes ({@link MlaDecoding}) and by full re-run
 * ({@link Generation#greedy}, what the release's {@code use_cache=False} does); median wall time and new tokens/s
 * = B·N / median. Also prints the cache bytes per token against full K/V for the preset.
 */
final class GenerateBench {

    private GenerateBench() {
    }

    static void run(Backend be, String preset, int batch, int prompt, int steps, DType dtype, int warmup, int reps) {
        String name = preset == null ? "tiny" : preset;
        MoonlightConfig cfg = MoonlightConfig.preset(name);
        MoonlightModel model = new MoonlightModel(be, cfg, ModelInit.random(cfg, be, dtype, 1));
        Random r = new Random(42);
        long[][] prompts = new long[batch][prompt];
        for (long[] row : prompts) for (int i = 0; i < prompt; i++) row[i] = r.nextInt(cfg.vocabSize());
        System.out.printf("MLA cache for %s in %s: %,d bytes per token (compressed) vs %,d (full K/V)%n", name, dtype,
                MlaCache.bytesPerToken(cfg, dtype), MlaCache.fullKvBytesPerToken(cfg, dtype));
        for (String mode : new String[]{"cache/recompute", "cache/absorb", "full re-run"}) {
            Runnable run = switch (mode) {
                case "cache/recompute" -> () -> new Generator(model, MlaDecoding.RECOMPUTE)
                        .generate(prompts, GenerationConfig.greedy(steps), false, null);
                case "cache/absorb" -> () -> new Generator(model, MlaDecoding.ABSORB)
                        .generate(prompts, GenerationConfig.greedy(steps), false, null);
                default -> () -> Generation.greedy(model, prompts, steps);
            };
            for (int i = 0; i < warmup; i++) run.run();
            double[] sec = new double[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                run.run();                                   // results are copied to the host: complete on return
                sec[i] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(sec);
            double median = reps % 2 == 1 ? sec[reps / 2] : (sec[reps / 2 - 1] + sec[reps / 2]) / 2;
            System.out.printf("generate %s %s %dx%d +%d %s on %s: median %.4f s (min %.4f, max %.4f; %d reps after %d "
                            + "warm-up), %.1f new tokens/s%n", mode, name, batch, prompt, steps, dtype, be.name(),
                    median, sec[0], sec[reps - 1], reps, warmup, batch * steps / median);
        }
    }
}
