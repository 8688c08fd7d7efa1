package moonlight4j.lora;

import moonlight4j.model.ModelShapes;
import moonlight4j.model.MoonlightConfig;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which weights of a Moonlight model get adapters. {@code all-linear} (as PEFT's shorthand: every {@code nn.Linear}
 * but the output head) = every {@code *_proj} projection: attention {@code q_proj} (or {@code q_a_proj},
 * {@code q_b_proj}), {@code kv_a_proj_with_mqa}, {@code kv_b_proj}, {@code o_proj}, and the dense, routed-expert and
 * shared-expert {@code gate_proj}, {@code up_proj}, {@code down_proj}. The MoE router {@code mlp.gate} is a bare
 * parameter in the release (not an {@code nn.Linear}, docs/model.md#initialisation), so PEFT cannot target it; full
 * fine-tuning trains it.
 */
public final class LoraTargets {

    public static final String ALL_LINEAR = "all-linear";

    private LoraTargets() {
    }

    /** The module name of a projection weight: {@code model.layers.3.mlp.experts.7.up_proj.weight} → {@code up_proj}. */
    public static String moduleName(String weight) {
        String m = weight.substring(0, weight.length() - ".weight".length());
        return m.substring(m.lastIndexOf('.') + 1);
    }

    /** The projection names this config has, sorted. */
    public static Set<String> linearModules(MoonlightConfig cfg) {
        Set<String> s = new TreeSet<>();
        for (String n : ModelShapes.expected(cfg).keySet()) if (isProjection(n)) s.add(moduleName(n));
        return s;
    }

    /**
     * @param spec {@code all-linear} or a comma-separated list of module names
     * @return the short module names (PEFT's {@code target_modules})
     */
    public static List<String> modules(String spec, MoonlightConfig cfg) {
        Set<String> known = linearModules(cfg);
        if (spec.equals(ALL_LINEAR)) return List.copyOf(known);
        Set<String> out = new LinkedHashSet<>();
        for (String raw : spec.split(",")) {
            String name = raw.trim();
            if (name.isEmpty()) continue;
            if (name.equals("gate")) {
                throw new IllegalArgumentException("LoRA target \"gate\": the MoE router is a bare parameter in the "
                        + "release, not a linear layer PEFT can wrap; use full fine-tuning to train it");
            }
            if (!known.contains(name)) {
                throw new IllegalArgumentException("unknown LoRA target \"" + name + "\"; this model's linear modules "
                        + "are " + known + " (or " + ALL_LINEAR + ")");
            }
            out.add(name);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no LoRA target modules in \"" + spec + "\"");
        return List.copyOf(out);
    }

    /** The base weights (full HF names, model order) whose module name is one of {@code modules}. */
    public static List<String> weights(List<String> modules, MoonlightConfig cfg) {
        List<String> out = new ArrayList<>();
        for (String n : ModelShapes.expected(cfg).keySet()) {
            if (isProjection(n) && modules.contains(moduleName(n))) out.add(n);
        }
        return out;
    }

    private static boolean isProjection(String name) {
        return name.endsWith("_proj.weight") || name.endsWith("_proj_with_mqa.weight");
    }
}
