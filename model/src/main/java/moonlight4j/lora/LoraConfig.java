package moonlight4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A LoRA adapter's settings in PEFT's {@code adapter_config.json} vocabulary (Hu et al. 2021, "LoRA"): each targeted
 * projection {@code W (out, in)} gets {@code A (r, in)} and {@code B (out, r)} and computes
 * {@code y = x·Wᵀ + scaling · x·Aᵀ·Bᵀ}, {@code scaling = lora_alpha / r} (or {@code lora_alpha / √r} with
 * {@code use_rslora}). Dropout, biases, DoRA, per-module rank/alpha patterns and {@code fan_in_fan_out} are not
 * supported and rejected on load.
 *
 * @param targetModules module names as PEFT matches them (suffixes: {@code q_proj}, {@code kv_b_proj}, …)
 */
public record LoraConfig(int rank, double alpha, List<String> targetModules, boolean useRslora,
                         String baseModelNameOrPath) {

    public static final String FILE = "adapter_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public LoraConfig {
        if (rank < 1) throw new IllegalArgumentException("LoRA rank must be ≥ 1, got " + rank);
        if (!(alpha > 0)) throw new IllegalArgumentException("LoRA alpha must be > 0, got " + alpha);
        if (targetModules.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
        targetModules = List.copyOf(targetModules);
    }

    /** {@code alpha / r}, or {@code alpha / √r} under rsLoRA. */
    public double scaling() {
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** The PEFT {@code adapter_config.json} object. */
    public ObjectNode toJson() {
        ObjectNode j = JSON.createObjectNode();
        j.putObject("alpha_pattern");
        j.putNull("auto_mapping");
        if (baseModelNameOrPath == null) j.putNull("base_model_name_or_path");
        else j.put("base_model_name_or_path", baseModelNameOrPath);
        j.put("bias", "none");
        j.put("fan_in_fan_out", false);
        j.put("inference_mode", true);
        j.put("init_lora_weights", true);
        j.putNull("layers_pattern");
        j.putNull("layers_to_transform");
        j.put("lora_alpha", alpha);
        j.put("lora_dropout", 0.0);
        j.putNull("modules_to_save");
        j.put("peft_type", "LORA");
        j.put("r", rank);
        j.putObject("rank_pattern");
        j.putNull("revision");
        var t = j.putArray("target_modules");
        targetModules.forEach(t::add);
        j.put("task_type", "CAUSAL_LM");
        j.put("use_dora", false);
        j.put("use_rslora", useRslora);
        return j;
    }

    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()) + "\n");
    }

    /** Reads {@code dir/adapter_config.json}, rejecting what this implementation does not do. */
    public static LoraConfig read(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) throw new IOException("LoRA adapter directory " + dir + " has no " + FILE);
        JsonNode j = JSON.readTree(f.toFile());
        String where = f.toString();
        if (!"LORA".equals(j.path("peft_type").asText())) {
            throw new IllegalArgumentException(where + ": peft_type is " + j.path("peft_type") + ", expected \"LORA\"");
        }
        reject(j, where, "use_dora", n -> n.asBoolean(false), "DoRA is not supported");
        reject(j, where, "fan_in_fan_out", n -> n.asBoolean(false), "fan_in_fan_out (Conv1D layout) is not supported");
        reject(j, where, "bias", n -> !n.isNull() && !n.asText().equals("none"), "only bias \"none\" is supported");
        reject(j, where, "rank_pattern", n -> n.isObject() && !n.isEmpty(), "per-module ranks are not supported");
        reject(j, where, "alpha_pattern", n -> n.isObject() && !n.isEmpty(), "per-module alphas are not supported");
        reject(j, where, "modules_to_save", n -> !n.isNull() && !n.isEmpty(), "modules_to_save is not supported");
        if (!j.path("r").canConvertToInt()) throw new IllegalArgumentException(where + ": \"r\" must be an integer");
        if (!j.path("lora_alpha").isNumber()) throw new IllegalArgumentException(where + ": \"lora_alpha\" must be a number");
        JsonNode t = j.path("target_modules");
        List<String> targets = new ArrayList<>();
        if (t.isTextual()) targets.add(t.asText());
        else if (t.isArray()) t.forEach(x -> targets.add(x.asText()));
        else throw new IllegalArgumentException(where + ": \"target_modules\" must be a list of module names");
        JsonNode base = j.get("base_model_name_or_path");
        return new LoraConfig(j.get("r").asInt(), j.get("lora_alpha").asDouble(), targets,
                j.path("use_rslora").asBoolean(false), base == null || base.isNull() ? null : base.asText());
    }

    private static void reject(JsonNode j, String where, String field, java.util.function.Predicate<JsonNode> bad,
                               String why) {
        JsonNode n = j.get(field);
        if (n != null && bad.test(n)) throw new IllegalArgumentException(where + ": " + field + " = " + n + ": " + why);
    }
}
