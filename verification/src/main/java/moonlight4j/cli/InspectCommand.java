package moonlight4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import moonlight4j.api.DType;
import moonlight4j.io.HfCheckpoint;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.io.TensorInfo;
import moonlight4j.model.ModelShapes;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.ParameterCounts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code moonlight inspect PATH | --preset NAME}: for an HF checkpoint directory, a single {@code .safetensors} file
 * or a built-in preset, the model config in a few lines, the accepted-but-unused and unknown config fields, the
 * tensors (count, dtypes, bytes, whether they match the config) and the parameter counts derived from the config.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Summarise a checkpoint directory, a .safetensors file or a preset (config, tensors, counts).")
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "PATH",
            description = "a checkpoint directory (config.json + safetensors) or a .safetensors file")
    Path path;

    @Option(names = "--preset", paramLabel = "NAME", description = "a built-in config: moonlight-16b-a3b or tiny")
    String preset;

    @Override
    public Integer call() throws Exception {
        if ((path == null) == (preset == null)) {
            throw new IllegalArgumentException("inspect: give either PATH or --preset NAME (one of "
                    + MoonlightConfig.PRESETS + ")");
        }
        PrintStream out = System.out;
        out.println("backend: none (inspect reads configs and safetensors headers only)");
        if (preset != null) {
            MoonlightConfig c = MoonlightConfig.preset(preset);
            out.println("preset " + preset);
            printConfig(c, out);
            out.println("tensors: " + ModelShapes.expected(c).size() + " (from the config; dtype "
                    + c.unused().getOrDefault("torch_dtype", new ObjectMapper().nullNode()).asText() + ")");
            return 0;
        }
        if (Files.isDirectory(path)) return inspectCheckpoint(out);
        if (Files.isRegularFile(path)) return inspectFile(out);
        throw new IllegalArgumentException("inspect: " + path + " is neither a directory nor a file");
    }

    private int inspectCheckpoint(PrintStream out) throws Exception {
        try (HfCheckpoint ck = HfCheckpoint.open(path)) {
            out.println("checkpoint " + path);
            MoonlightConfig c = MoonlightConfig.fromJson(ck.config(), path.resolve(HfCheckpoint.CONFIG).toString());
            printConfig(c, out);
            printTensors(ck.names(), ck::info, out);
            try {
                ck.checkExpected(ModelShapes.expected(c));
                out.println("tensors match the config: yes (" + ModelShapes.expected(c).size() + " expected)");
            } catch (IllegalArgumentException e) {
                out.println("tensors match the config: NO — " + e.getMessage());
                return 1;
            }
        }
        return 0;
    }

    private int inspectFile(PrintStream out) throws Exception {
        try (SafetensorsFile f = Safetensors.open(path)) {
            out.println("safetensors file " + path);
            printTensors(f.names(), f::info, out);
            if (!f.metadata().isEmpty()) out.println("metadata keys: " + new TreeMap<>(f.metadata()).keySet());
            Path sibling = path.resolveSibling(HfCheckpoint.CONFIG);
            JsonNode cfg = null;
            String source = null;
            if (Files.isRegularFile(sibling)) {
                cfg = new ObjectMapper().readTree(Files.readAllBytes(sibling));
                source = sibling.toString();
            } else if (f.metadata().containsKey("config")) {
                cfg = new ObjectMapper().readTree(f.metadata().get("config"));
                source = path + " (metadata 'config')";
            }
            if (cfg == null) {
                out.println("no config.json next to the file and no 'config' metadata: no model summary");
            } else {
                out.println("config from " + source);
                printConfig(MoonlightConfig.fromJson(cfg, source), out);
            }
        }
        return 0;
    }

    static void printConfig(MoonlightConfig c, PrintStream out) {
        List<Integer> moe = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) if (c.isMoeLayer(i)) moe.add(i);
        out.printf("  layers %d (%d dense, %d MoE), hidden %d, heads %d, vocab %d, untied lm_head%n",
                c.numHiddenLayers(), c.numHiddenLayers() - moe.size(), moe.size(), c.hiddenSize(),
                c.numAttentionHeads(), c.vocabSize());
        out.printf("  MLA: %s, kv_lora_rank %d, qk_nope %d, qk_rope %d, v %d, softmax scale %.10g%n",
                c.qLoraRank() == null ? "q_proj (q_lora_rank null)" : "q_lora_rank " + c.qLoraRank(),
                c.kvLoraRank(), c.qkNopeHeadDim(), c.qkRopeHeadDim(), c.vHeadDim(), c.softmaxScale());
        if (c.nRoutedExperts() != null) {
            out.printf("  MoE: %d routed experts (width %d), k %d, %s shared (width %d), groups %d keep %d, %s/%s,"
                            + " norm_topk_prob %s, routed_scaling_factor %s; dense MLP width %d%n",
                    c.nRoutedExperts(), c.moeIntermediateSize(), c.numExpertsPerTok(), c.nSharedExperts(),
                    c.sharedIntermediateSize(), c.nGroup(), c.topkGroup(), c.topkMethod(), c.scoringFunc(),
                    c.normTopkProb(), c.routedScalingFactor(), c.intermediateSize());
        } else {
            out.printf("  dense model (n_routed_experts null), MLP width %d%n", c.intermediateSize());
        }
        out.printf("  rope_theta %s, rms_norm_eps %s (latent norms 1e-6), max_position_embeddings %d%n",
                c.ropeTheta(), c.rmsNormEps(), c.maxPositionEmbeddings());
        StringBuilder unused = new StringBuilder();
        c.unused().forEach((k, v) -> unused.append(unused.length() == 0 ? "" : ", ").append(k).append('=').append(v));
        out.println("accepted, not used by the forward pass: " + (unused.length() == 0 ? "none" : unused));
        out.println("unknown fields (ignored): " + (c.unknown().isEmpty() ? "none" : String.join(", ", c.unknown())));
        ParameterCounts n = ParameterCounts.of(c);
        out.printf("parameters (computed from the config): total %,d = embedding+lm_head %,d + non-embedding %,d%n",
                n.total(), n.embedding(), n.nonEmbedding());
        out.printf("activated per token: non-embedding %,d (with embedding+lm_head %,d)%n",
                n.activatedNonEmbedding(), n.activated());
    }

    private static void printTensors(List<String> names, Function<String, TensorInfo> info, PrintStream out) {
        Map<DType, long[]> byDtype = new TreeMap<>();             // dtype → {tensors, elements, bytes}
        for (String name : names) {
            TensorInfo t = info.apply(name);
            long[] a = byDtype.computeIfAbsent(t.dtype(), d -> new long[3]);
            a[0]++;
            a[1] += t.numel();
            a[2] += t.byteSize();
        }
        out.println("tensors: " + names.size());
        byDtype.forEach((d, a) -> out.printf("  %-5s %,d tensors, %,d elements, %,d bytes%n", d, a[0], a[1], a[2]));
    }
}
