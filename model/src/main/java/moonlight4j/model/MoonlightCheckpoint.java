package moonlight4j.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.io.HfCheckpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

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
            Map<String, int[]> expected = ModelShapes.expected(cfg);
            ck.checkExpected(expected);
            Parameters p = new Parameters();
            for (String name : expected.keySet()) p.put(name, ck.load(be, name));
            return new Loaded(cfg, p);
        }
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
