package moonlight4j.reliability;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Tensor;
import moonlight4j.io.HfCheckpoint;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static moonlight4j.reliability.ModelDirs.cli;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Malformed safetensors headers and a hostile shard index, replayed through {@code moonlight inspect}: a header in
 * UTF-16 or with a byte-order mark, {@code "data_offsets": [-0, 4]}, a NUL in an index shard name. Each ends in one
 * error line that names the file (and the tensor) and what was expected; none is read as if it were valid and none
 * surfaces a raw Java message.
 */
@Timeout(60)
class SafetensorsReliabilityTest {

    @TempDir
    Path tmp;

    /** {@code u64 LE header length | header bytes | data}. */
    private Path file(String name, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        return Files.write(tmp.resolve(name), b.array());
    }

    private static final String ONE_TENSOR = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";

    private static ModelDirs.Run inspectRejects(Path f, String... fragments) {
        ModelDirs.Run r = cli("inspect", f.toString());
        assertThat(r.rc()).as("exit code; stdout %s", r.out()).isEqualTo(2);
        assertThat(r.error()).startsWith("error: " + f).contains(fragments);
        assertThat(r.out()).doesNotContain("tensors: 1");
        return r;
    }

    @Test
    void validHeaderIsReadSoTheCasesBelowDifferOnlyInTheirFault() throws IOException {
        ModelDirs.Run r = cli("inspect", file("ok.safetensors", ONE_TENSOR.getBytes(StandardCharsets.UTF_8), 4).toString());
        assertThat(r.rc()).isZero();
        assertThat(r.out()).contains("tensors: 1").contains("F32   1 tensors, 1 elements, 4 bytes");
    }

    @Test
    void utf16HeaderIsRefused() throws IOException {
        for (Charset cs : new Charset[]{StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE}) {
            inspectRejects(file(cs + ".safetensors", ONE_TENSOR.getBytes(cs), 4), "header: text is UTF-16 or UTF-32",
                    "expected UTF-8 without a byte-order mark");
        }
        inspectRejects(file("utf16bom.safetensors", ONE_TENSOR.getBytes(StandardCharsets.UTF_16), 4),
                "UTF-16 (byte-order mark)");
    }

    @Test
    void byteOrderMarkIsRefused() throws IOException {
        inspectRejects(file("bom.safetensors", ("\uFEFF" + ONE_TENSOR).getBytes(StandardCharsets.UTF_8), 4),
                "UTF-8 with a byte-order mark");
    }

    @Test
    void negativeZeroOffsetIsRefused() throws IOException {
        inspectRejects(file("minus0.safetensors", ONE_TENSOR.replace("[0,4]", "[-0,4]").getBytes(StandardCharsets.UTF_8), 4),
                "tensor 'w': data_offsets value -0 is negative, expected ≥ 0");
    }

    @Test
    void nulInAnIndexShardNameNamesTheIndexNotJavasPathError() throws IOException {
        MoonlightConfig cfg = MoonlightConfig.fromJson(ModelDirs.smallConfigJson(), "small");
        Parameters p = ModelInit.random(cfg, ModelDirs.BE, moonlight4j.api.DType.F32, 1);
        Path dir = tmp.resolve("sharded");
        Map<String, Tensor> tensors = p.asMap();
        HfCheckpoint.save(dir, cfg.toJson(), tensors, 100_000);               // several shards and an index
        Path index = dir.resolve(HfCheckpoint.INDEX);
        ObjectNode json = (ObjectNode) ModelDirs.JSON.readTree(index.toFile());
        ((ObjectNode) json.get("weight_map")).put("lm_head.weight", "model-00001-of-00009\u0000.safetensors");
        Files.writeString(index, ModelDirs.JSON.writeValueAsString(json));
        for (String[] args : new String[][]{{"inspect", dir.toString()},
                {"generate", "--model", dir.toString(), "--prompt", "x"}}) {
            if (args[0].equals("generate")) moonlight4j.tokenizer.ByteVocabulary.write(dir);
            ModelDirs.Run r = cli(args);
            assertThat(r.rc()).isEqualTo(2);
            assertThat(r.error()).startsWith("error: " + index + ": tensor 'lm_head.weight': weight_map value "
                    + "\"model-00001-of-00009\\u0000.safetensors\" must be a file name without control characters")
                    .doesNotContain("Nul character");
        }
    }
}
