package moonlight4j.io;

import static moonlight4j.io.SafetensorsRoundTripTest.CPU;
import static moonlight4j.io.SafetensorsRoundTripTest.bytesOf;
import static moonlight4j.io.SafetensorsRoundTripTest.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.io.SafetensorsRoundTripTest.Spec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    @AfterEach
    void closeTensors() {
        tensors.values().forEach(Tensor::close);
    }

    private ObjectNode config() {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "deepseek_v3").put("hidden_size", 8).put("torch_dtype", "bfloat16");
        c.putArray("architectures").add("DeepseekV3ForCausalLM");
        return c;
    }

    /** 5 tensors, 1,376 bytes in all: embed 512 B (BF16), two 256 B F32, a 96 B I64 and a 256 B F32 norm. */
    private Map<String, Tensor> model() {
        tensors.put("model.embed_tokens.weight", random(new Spec(DType.BF16, new int[] {16, 16}, 1)));
        tensors.put("model.layers.0.mlp.gate_proj.weight", random(new Spec(DType.F32, new int[] {8, 8}, 2)));
        tensors.put("model.layers.0.mlp.up_proj.weight", random(new Spec(DType.F32, new int[] {8, 8}, 3)));
        tensors.put("model.layers.0.counts", random(new Spec(DType.I64, new int[] {12}, 4)));
        tensors.put("model.norm.weight", random(new Spec(DType.F32, new int[] {64}, 5)));
        return tensors;
    }

    private void assertRoundTrip(HfCheckpoint ck) {
        assertThat(ck.names()).containsExactlyInAnyOrderElementsOf(tensors.keySet());
        assertThat(ck.config()).isEqualTo(config());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            try (Tensor got = ck.load(CPU, e.getKey())) {
                assertThat(got.dtype()).as(e.getKey()).isEqualTo(e.getValue().dtype());
                assertThat(got.shape()).as(e.getKey()).isEqualTo(e.getValue().shape());
                assertThat(bytesOf(got)).as(e.getKey()).isEqualTo(bytesOf(e.getValue()));
            }
        }
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void singleFileCheckpointRoundTrips() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 10_000);
        assertThat(files(dir)).containsExactly("config.json", "model.safetensors");
        try (HfCheckpoint ck = HfCheckpoint.open(dir)) {
            assertRoundTrip(ck);
            assertThat(ck.info("model.embed_tokens.weight").dtype()).isEqualTo(DType.BF16); // no widening
            assertThat(ck.fileOf("model.norm.weight").getFileName().toString()).isEqualTo("model.safetensors");
        }
        try (SafetensorsFile f = Safetensors.open(dir.resolve("model.safetensors"))) {
            assertThat(f.metadata()).containsExactly(Map.entry("format", "pt"));
        }
    }

    @Test
    void shardedCheckpointRoundTripsAndItsIndexHasTheHfShape() throws IOException {
        Path dir = tmp.resolve("ck");
        // limit 520 B: [embed 512] [gate 256 + up 256 = 512] [counts 96 + norm 256 = 352] → 3 shards
        HfCheckpoint.save(dir, config(), model(), 520);
        assertThat(files(dir)).containsExactly("config.json", "model-00001-of-00003.safetensors",
                "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json");
        JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
        assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(1376);
        JsonNode wm = index.get("weight_map");
        assertThat(wm.get("model.embed_tokens.weight").asText()).isEqualTo("model-00001-of-00003.safetensors");
        assertThat(wm.get("model.layers.0.mlp.up_proj.weight").asText()).isEqualTo("model-00002-of-00003.safetensors");
        assertThat(wm.get("model.norm.weight").asText()).isEqualTo("model-00003-of-00003.safetensors");
        List<String> keys = new ArrayList<>();
        wm.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).hasSize(5).isSorted(); // json.dumps(sort_keys=True)
        assertThat(Files.readString(dir.resolve("model.safetensors.index.json")))
                .startsWith("{\n  \"metadata\": {\n    \"total_size\": 1376\n  },\n  \"weight_map\": {\n");
        try (HfCheckpoint ck = HfCheckpoint.open(dir)) {
            assertRoundTrip(ck);
            assertThat(ck.fileOf("model.layers.0.counts").getFileName().toString())
                    .isEqualTo("model-00003-of-00003.safetensors");
        }
    }

    @Test
    void aTensorLargerThanTheLimitGetsAShardOfItsOwn() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 100);
        assertThat(files(dir)).hasSize(2 + 5).contains("model-00005-of-00005.safetensors");
        try (HfCheckpoint ck = HfCheckpoint.open(dir)) {
            assertRoundTrip(ck);
        }
    }

    @Test
    void saveReplacesAnExistingCheckpointAndLeavesNoTemporaryDirectory() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 520); // sharded
        HfCheckpoint.save(dir, config(), Map.of("model.norm.weight", tensors.get("model.norm.weight")), 10_000);
        assertThat(files(dir)).containsExactly("config.json", "model.safetensors");
        assertThat(files(tmp)).containsExactly("ck");
    }

    @Test
    void failedSaveLeavesTheOldCheckpointIntact() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 520);
        List<String> before = files(dir);
        byte[] shard = Files.readAllBytes(dir.resolve("model-00002-of-00003.safetensors"));
        Tensor bad = CPU.zeros(DType.F32, 4);
        bad.close(); // writeTo fails on it
        Map<String, Tensor> next = new LinkedHashMap<>(tensors);
        next.put("model.bad", bad);
        assertThatThrownBy(() -> HfCheckpoint.save(dir, config(), next, 520))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining("tensor 'model.bad'");
        assertThat(files(dir)).isEqualTo(before);
        assertThat(Files.readAllBytes(dir.resolve("model-00002-of-00003.safetensors"))).isEqualTo(shard);
        assertThat(files(tmp)).containsExactly("ck");
    }

    @Test
    void truncatedShardIsAClearError() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 520);
        Path shard = dir.resolve("model-00003-of-00003.safetensors");
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10);
        }
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(shard.toString())
                .hasMessageContaining("tensor 'model.norm.weight'")
                .hasMessageContaining("outside the data block");
    }

    @Test
    void indexPointingToAMissingShardIsAClearError() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 520);
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(dir.resolve("model.safetensors.index.json").toString())
                .hasMessageContaining(dir.resolve("model-00002-of-00003.safetensors") + " listed for 2 tensors")
                .hasMessageContaining("model.layers.0.mlp.gate_proj.weight")
                .hasMessageContaining("does not exist");
    }

    @Test
    void indexAndShardsThatDisagreeAreListedInOneError() throws IOException {
        Path dir = tmp.resolve("ck");
        // limit 1000 B: [embed 512 + gate 256] [up 256 + counts 96 + norm 256] → 2 shards
        HfCheckpoint.save(dir, config(), model(), 1000);
        Path indexFile = dir.resolve("model.safetensors.index.json");
        Path shard1 = dir.resolve("model-00001-of-00002.safetensors");
        Path shard2 = dir.resolve("model-00002-of-00002.safetensors");
        ObjectNode index = (ObjectNode) JSON.readTree(indexFile.toFile());
        ObjectNode wm = (ObjectNode) index.get("weight_map");
        wm.remove("model.layers.0.counts");                                  // in a shard, not in the index
        wm.put("model.ghost", "model-00001-of-00002.safetensors");           // in the index, in no shard
        wm.put("model.norm.weight", "model-00001-of-00002.safetensors");     // listed for the wrong shard
        Files.writeString(indexFile, JSON.writeValueAsString(index));
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(indexFile + ": index and shards disagree:")
                .hasMessageContaining("tensor 'model.ghost' listed in the index for " + shard1 + " is absent from that shard")
                .hasMessageContaining("tensor 'model.norm.weight' listed in the index for " + shard1 + " is absent from that shard")
                .hasMessageContaining("tensor 'model.layers.0.counts' in " + shard2 + " is not listed in the index")
                .hasMessageContaining("tensor 'model.norm.weight' in " + shard2
                        + " is listed in the index for shard model-00001-of-00002.safetensors");
    }

    @Test
    void indexEntriesMustBePlainFileNames() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 520);
        Path indexFile = dir.resolve("model.safetensors.index.json");
        Files.writeString(indexFile, "{\"weight_map\": {\"w\": \"../elsewhere.safetensors\"}}");
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("tensor 'w'").hasMessageContaining("without a path");
        Files.writeString(indexFile, "{\"metadata\": {}}");
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(indexFile.toString()).hasMessageContaining("weight_map");
        // a NUL (JSON \u0000) would reach Path.resolve and surface as Java's "Nul character not allowed"
        Files.writeString(indexFile, "{\"weight_map\": {\"w\": \"model\\u0000.safetensors\"}}");
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(indexFile + ": tensor 'w': weight_map value \"model\\u0000.safetensors\"")
                .hasMessageContaining("without control characters, found U+0000 at index 5")
                .hasMessageNotContaining("Nul character");
    }

    @Test
    void missingConfigOrWeightsAreClearErrors() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("ck"));
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(dir.resolve("config.json").toString()).hasMessageContaining("no such file");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"deepseek_v3\"}");
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("found neither");
        Files.writeString(dir.resolve("config.json"), "[1]");
        assertThatThrownBy(() -> HfCheckpoint.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("expected a JSON object");
        assertThatThrownBy(() -> HfCheckpoint.open(tmp.resolve("absent"))).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("no such directory");
    }

    @Test
    void checkExpectedListsEveryProblemInOneMessage() throws IOException {
        Path dir = tmp.resolve("ck");
        HfCheckpoint.save(dir, config(), model(), 520);
        try (HfCheckpoint ck = HfCheckpoint.open(dir)) {
            Map<String, int[]> ok = new LinkedHashMap<>();
            tensors.forEach((n, t) -> ok.put(n, t.shape()));
            ck.checkExpected(ok); // exact match: no error

            Map<String, int[]> expected = new LinkedHashMap<>(ok);
            expected.remove("model.layers.0.counts");                            // → unexpected
            expected.put("lm_head.weight", new int[] {16, 16});                 // → missing
            expected.put("model.norm.weight", new int[] {8, 8});                // → mis-shaped
            expected.put("model.layers.0.mlp.up_proj.weight", new int[] {8, 9}); // → mis-shaped
            assertThatThrownBy(() -> ck.checkExpected(expected)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(dir.toString())
                    .hasMessageContaining("missing: 'lm_head.weight' expected shape [16, 16]")
                    .hasMessageContaining("unexpected: 'model.layers.0.counts' shape [12]")
                    .hasMessageContaining("mis-shaped: 'model.norm.weight' expected [8, 8], found [64]")
                    .hasMessageContaining("mis-shaped: 'model.layers.0.mlp.up_proj.weight' expected [8, 9], found [8, 8]");
        }
    }
}
