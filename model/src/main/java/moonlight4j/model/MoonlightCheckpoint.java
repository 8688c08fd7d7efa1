package moonlight4j.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.io.HfCheckpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Moonlight model in Hugging Face layout (config.json + model.safetensors or shards + index), read and written
 * through {@link HfCheckpoint}. Loading checks every tensor against {@link ModelShapes#expected} first, so a
 * checkpoint with missing or mis-shaped tensors fails with one error listing all of them.
 */
public final class MoonlightCheckpoint {

    /** Shard size used by {@link #save(Path, MoonlightConfig, Parameters)}: 5 GB, the Hub's default. */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    /** The config and weights of a loaded checkpoint. */
    public record Loaded(MoonlightConfig config, Parameters parameters) {
        /** The model over these weights. */
        public MoonlightModel model(Backend be) {
            return new MoonlightModel(be, config, parameters);
        }
    }

    private MoonlightCheckpoint() {
    }

    /** Reads {@code dir}: config, shape check against the config, then every tensor in its stored dtype. */
    public static Loaded load(Path dir, Backend be) throws IOException {
        try (HfCheckpoint ck = HfCheckpoint.open(dir)) {
            MoonlightConfig cfg = MoonlightConfig.fromJson(ck.config(), dir.resolve(HfCheckpoint.CONFIG).toString());
            Map<String, int[]> expected = checkTensors(ck, cfg);
            Parameters p = new Parameters();
            for (String name : expected.keySet()) p.put(name, ck.load(be, name));
            return new Loaded(cfg, p);
        }
    }

    /**
     * The config's tensors ({@link ModelShapes#expected}) checked against the checkpoint's: first the layer and
     * expert counts against the highest indices present, so a config that describes far more than the files hold
     * fails naming {@code num_hidden_layers} or {@code n_routed_experts}; then every name and shape
     * ({@link HfCheckpoint#checkExpected}, one {@link IllegalArgumentException} listing every difference).
     */
    public static Map<String, int[]> checkTensors(HfCheckpoint ck, MoonlightConfig cfg) {
        int layers = 0, experts = 0;                                       // highest index present + 1
        for (String name : ck.names()) {
            Matcher m = LAYER_EXPERT.matcher(name);
            if (!m.lookingAt()) continue;
            layers = Math.max(layers, indexPlusOne(m.group(1)));
            if (m.group(2) != null) experts = Math.max(experts, indexPlusOne(m.group(2)));
        }
        Path config = ck.dir().resolve(HfCheckpoint.CONFIG);
        if (cfg.numHiddenLayers() > layers) {
            throw new IllegalArgumentException(config + ": config field 'num_hidden_layers' = " + cfg.numHiddenLayers()
                    + " but the checkpoint holds " + (layers == 0 ? "no layers" : "layers 0.." + (layers - 1))
                    + " (tensors model.layers.N.*)");
        }
        if (ModelShapes.moeLayerCount(cfg) > 0 && cfg.nRoutedExperts() > experts) {
            throw new IllegalArgumentException(config + ": config field 'n_routed_experts' = " + cfg.nRoutedExperts()
                    + " but the checkpoint holds "
                    + (experts == 0 ? "no routed experts" : "experts 0.." + (experts - 1))
                    + " (tensors model.layers.N.mlp.experts.E.*)");
        }
        Map<String, int[]> expected = ModelShapes.expected(cfg);
        ck.checkExpected(expected);
        return expected;
    }

    private static final Pattern LAYER_EXPERT =
            Pattern.compile("model\\.layers\\.(\\d{1,9})\\.(?:mlp\\.experts\\.(\\d{1,9})\\.)?");

    private static int indexPlusOne(String digits) {
        return Integer.parseInt(digits) + 1;                              // ≤ 10⁹: 9 digits at most
    }

    /** Writes config.json (the HF field set) and the weights, sharded at {@link #DEFAULT_SHARD_BYTES}. */
    public static void save(Path dir, MoonlightConfig cfg, Parameters params) throws IOException {
        save(dir, cfg, params, DEFAULT_SHARD_BYTES);
    }

    /**
     * Writes config.json and the weights, in HF order, shards of at most {@code maxShardBytes}. The config's
     * {@code torch_dtype} is set to the weights' dtype ({@code bfloat16} / {@code float32}), as save_pretrained does.
     */
    public static void save(Path dir, MoonlightConfig cfg, Parameters params, long maxShardBytes) throws IOException {
        MoonlightModel.checkParameters(cfg, params);
        ObjectNode json = cfg.toJson();
        DType d = params.commonDtype(ModelShapes::isFp32Always);
        if (d == DType.BF16) json.put("torch_dtype", "bfloat16");
        else if (d == DType.F32) json.put("torch_dtype", "float32");
        HfCheckpoint.save(dir, json, params.asMap(), maxShardBytes);
    }
}
