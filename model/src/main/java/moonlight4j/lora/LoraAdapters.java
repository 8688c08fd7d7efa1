package moonlight4j.lora;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.model.ModelShapes;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The LoRA matrices of a model: for each targeted weight {@code W (out, in)} a pair {@code A (r, in)},
 * {@code B (out, r)}, the effective weight being {@code W + s·B·A} with {@code s = }{@link LoraConfig#scaling()}.
 * Saved in PEFT's layout: {@code adapter_config.json} + {@code adapter_model.safetensors} with tensors named
 * {@code base_model.model.<module>.lora_A.weight} / {@code .lora_B.weight} (e.g.
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}).
 *
 * <p>Training goes through the effective weight, so no layer needs a LoRA branch: put {@link #effective} into the
 * model's parameters, run forward and backward as for full fine-tuning, and turn each {@code dW} into the adapters'
 * gradients with {@link #gradients} ({@code dA = s·Bᵀ·dW}, {@code dB = s·dW·Aᵀ}, the chain rule through
 * {@code W + s·B·A}). Both adapter matrices are 2-D hidden matrices, so Muon's split rule
 * (docs/muon.md#parameter-split) sends them to Muon.
 */
public final class LoraAdapters {

    public static final String FILE = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";

    private final LoraConfig config;
    private final Map<String, Tensor[]> pairs;   // base weight name → {A (r, in), B (out, r)}

    private LoraAdapters(LoraConfig config, Map<String, Tensor[]> pairs) {
        this.config = config;
        this.pairs = pairs;
    }

    /**
     * Fresh adapters as PEFT initialises them: {@code A ~ U(−1/√in, 1/√in)} (kaiming-uniform with a = √5),
     * {@code B = 0} — so the adapted model starts equal to the base model.
     */
    public static LoraAdapters init(LoraConfig config, MoonlightConfig model, Backend be, DType dtype, long seed) {
        Map<String, int[]> shapes = ModelShapes.expected(model);
        Random rnd = new Random(seed);
        Map<String, Tensor[]> pairs = new LinkedHashMap<>();
        for (String w : LoraTargets.weights(config.targetModules(), model)) {
            int out = shapes.get(w)[0], in = shapes.get(w)[1], r = config.rank();
            float[] a = new float[r * in];
            double bound = 1 / Math.sqrt(in);
            for (int i = 0; i < a.length; i++) a[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            Tensor a32 = be.fromFloats(a, r, in);
            Tensor aT = dtype == DType.F32 ? a32 : be.cast(a32, dtype);
            pairs.put(w, new Tensor[]{aT, be.zeros(dtype, out, r)});
        }
        if (pairs.isEmpty()) throw new IllegalArgumentException("LoRA targets " + config.targetModules()
                + " match no weight of this model");
        return new LoraAdapters(config, pairs);
    }

    public LoraConfig config() {
        return config;
    }

    /** The targeted base weights, model order. */
    public List<String> targets() {
        return List.copyOf(pairs.keySet());
    }

    /** PEFT's tensor name of {@code lora_A} / {@code lora_B} of a base weight. */
    public static String peftName(String baseWeight, boolean a) {
        String module = baseWeight.substring(0, baseWeight.length() - ".weight".length());
        return PREFIX + module + (a ? ".lora_A.weight" : ".lora_B.weight");
    }

    /** The trainable tensors under their PEFT names (what an optimizer is given). */
    public Parameters parameters() {
        Parameters p = new Parameters();
        for (Map.Entry<String, Tensor[]> e : pairs.entrySet()) {
            p.put(peftName(e.getKey(), true), e.getValue()[0]);
            p.put(peftName(e.getKey(), false), e.getValue()[1]);
        }
        return p;
    }

    /** {@code W + s·B·A} for one targeted weight, computed in fp32 and rounded once to W's dtype. Allocates. */
    public Tensor effective(Backend be, String baseWeight, Tensor w) {
        Tensor[] ab = pair(baseWeight);
        try (Tensor a = be.cast(ab[0], DType.F32); Tensor b = be.cast(ab[1], DType.F32);
             Tensor ba = be.matmul(b, a, false, false);                           // (out, in)
             Tensor delta = be.mulScalar(ba, config.scaling());
             Tensor w32 = be.cast(w, DType.F32);
             Tensor sum = be.add(w32, delta)) {
            return be.cast(sum, w.dtype());
        }
    }

    /**
     * A copy of {@code base}'s name→tensor map with every targeted weight replaced by {@link #effective} — the merged
     * model ({@code --merge-lora}), or the weights to run forward/backward on while training the adapters.
     */
    public Parameters merged(Backend be, Parameters base) {
        Parameters out = new Parameters();
        for (String n : base.names()) {
            out.put(n, pairs.containsKey(n) ? effective(be, n, base.get(n)) : base.get(n));
        }
        return out;
    }

    /**
     * The adapters' gradients from the gradient of the effective weight {@code dW (out, in)}:
     * {@code dA = s·Bᵀ·dW (r, in)}, {@code dB = s·dW·Aᵀ (out, r)}, in fp32. Returns {@code {dA, dB}}.
     */
    public Tensor[] gradients(Backend be, String baseWeight, Tensor dW) {
        Tensor[] ab = pair(baseWeight);
        double s = config.scaling();
        try (Tensor a = be.cast(ab[0], DType.F32); Tensor b = be.cast(ab[1], DType.F32);
             Tensor g = be.cast(dW, DType.F32);
             Tensor btg = be.matmul(b, g, true, false);                           // (r, in)
             Tensor gat = be.matmul(g, a, false, true)) {                         // (out, r)
            return new Tensor[]{be.mulScalar(btg, s), be.mulScalar(gat, s)};
        }
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} into {@code dir}. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir);
        Safetensors.write(dir.resolve(FILE), parameters().asMap(), Map.of("format", "pt"));
    }

    /**
     * Reads a PEFT LoRA adapter for a model of config {@code model}: every tensor must be a {@code lora_A}/
     * {@code lora_B} of a projection weight of that model with shapes {@code (r, in)} / {@code (out, r)}, each A with
     * its B. Errors name the file and tensor.
     */
    public static LoraAdapters load(Path dir, MoonlightConfig model, Backend be) throws IOException {
        LoraConfig cfg = LoraConfig.read(dir);
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) throw new IOException("LoRA adapter directory " + dir + " has no " + FILE);
        Map<String, int[]> shapes = ModelShapes.expected(model);
        Map<String, Tensor[]> pairs = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        try (SafetensorsFile st = Safetensors.open(file)) {
            for (String name : st.names()) {
                boolean isA = name.endsWith(".lora_A.weight"), isB = name.endsWith(".lora_B.weight");
                if (!name.startsWith(PREFIX) || !(isA || isB)) {
                    problems.add(name + ": not a PEFT LoRA tensor (" + PREFIX + "<module>.lora_A/B.weight)");
                    continue;
                }
                String base = name.substring(PREFIX.length(), name.length() - ".lora_A.weight".length()) + ".weight";
                int[] w = shapes.get(base);
                if (w == null || w.length != 2) {
                    problems.add(name + ": the model has no projection " + base);
                    continue;
                }
                int[] want = isA ? new int[]{cfg.rank(), w[1]} : new int[]{w[0], cfg.rank()};
                int[] got = st.info(name).shape();
                if (!java.util.Arrays.equals(got, want)) {
                    problems.add(name + ": shape " + Shapes.str(got) + ", expected " + Shapes.str(want) + " (r = "
                            + cfg.rank() + ")");
                    continue;
                }
                pairs.computeIfAbsent(base, k -> new Tensor[2])[isA ? 0 : 1] = st.load(be, name);
            }
        }
        pairs.forEach((base, ab) -> {
            if (ab[0] == null || ab[1] == null) problems.add(base + ": has lora_" + (ab[0] == null ? "B" : "A")
                    + " but no lora_" + (ab[0] == null ? "A" : "B"));
        });
        if (pairs.isEmpty() && problems.isEmpty()) problems.add("no LoRA tensors");
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(file + ": " + problems.size() + " problem(s): "
                    + String.join("; ", problems.subList(0, Math.min(20, problems.size()))));
        }
        return new LoraAdapters(cfg, pairs);
    }

    private Tensor[] pair(String baseWeight) {
        Tensor[] ab = pairs.get(baseWeight);
        if (ab == null) throw new IllegalArgumentException("no LoRA adapter on " + baseWeight);
        return ab;
    }
}
