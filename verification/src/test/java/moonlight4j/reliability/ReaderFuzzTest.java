package moonlight4j.reliability;

import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.DType;
import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;
import moonlight4j.io.HfCheckpoint;
import moonlight4j.io.Safetensors;
import moonlight4j.io.SafetensorsException;
import moonlight4j.io.SafetensorsFile;
import moonlight4j.io.TensorInfo;
import moonlight4j.model.ModelShapes;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.ParameterCounts;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Seeded fuzz of the safetensors reader, the config reader and the checkpoint loader. Each mutated input must be
 * either read correctly (the accepted result is checked against the format's invariants) or rejected with a
 * {@link SafetensorsException} / {@link IllegalArgumentException} whose message names the file; anything else (an
 * OutOfMemoryError, a NegativeArraySizeException, an ArrayIndexOutOfBoundsException, a hang past the time limit, ...)
 * fails the test with the seed and the case number, which replay it.
 *
 * <p>The seed is fixed and printed; {@code -Dmoonlight.fuzz.seed=N} overrides it and {@code -Dmoonlight.fuzz.scale=K}
 * multiplies the case counts (1 by default: 3,450 cases in a few seconds).
 */
class ReaderFuzzTest {

    static final long SEED = Long.getLong("moonlight.fuzz.seed", 15L);
    static final int SCALE = Integer.getInteger("moonlight.fuzz.scale", 1);

    @TempDir
    static Path tmp;
    static byte[] safetensors;
    static String config;
    static Path model;

    @BeforeAll
    static void bases() throws IOException {
        System.out.println("ReaderFuzzTest: seed " + SEED + " (override with -Dmoonlight.fuzz.seed=N), scale " + SCALE);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("model.embed_tokens.weight", ModelDirs.BE.fromFloats(new float[]{1, 2, 3, 4, 5, 6}, 2, 3));
        tensors.put("model.norm.weight", ModelDirs.BE.cast(ModelDirs.BE.fromFloats(new float[]{1, -1, 0.5f}, 3), DType.BF16));
        tensors.put("scalar", ModelDirs.BE.fromFloats(new float[]{7}));
        tensors.put("empty", ModelDirs.BE.fromFloats(new float[0], 0, 4));
        Path f = tmp.resolve("base.safetensors");
        Safetensors.write(f, tensors, Map.of("format", "pt", "note", "fuzz base"));
        safetensors = Files.readAllBytes(f);
        config = ModelDirs.smallConfigWith("vocab_size", "514");
        model = ModelDirs.saveSmallModel(tmp.resolve("model"));
    }

    // ---------------------------------------------------------------- safetensors

    @Test
    void mutatedSafetensorsFilesAreReadCorrectlyOrRejectedByName() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random r = new Random(SEED);
            int accepted = 0, cases = 2000 * SCALE;
            for (int i = 0; i < cases; i++) {
                int op = r.nextInt(SAFETENSORS_OPS);
                byte[] bytes = mutateSafetensors(safetensors, op, r);
                Path f = tmp.resolve("case-" + i + ".safetensors");
                Files.write(f, bytes);
                try (SafetensorsFile st = Safetensors.open(f)) {
                    checkAccepted(st, bytes.length);
                    accepted++;
                } catch (SafetensorsException e) {
                    assertThat(e.getMessage()).as(replay("safetensors", i, op)).startsWith(f + ":");
                } catch (Throwable t) {
                    fail(replay("safetensors", i, op) + ": " + t, t);
                }
                Files.delete(f);
            }
            System.out.printf("ReaderFuzzTest: safetensors %d cases, %d accepted, %d rejected%n", cases, accepted,
                    cases - accepted);
            assertThat(accepted).as("some mutations keep a valid file (padding, data bytes)").isPositive();
        });
    }

    /** An accepted file obeys the format: tensors tile the data block, each view holds numel × dtype bytes. */
    private static void checkAccepted(SafetensorsFile st, long fileSize) {
        long at = -1, total = 0;
        for (String n : st.names()) {
            TensorInfo t = st.info(n);
            long bytes = Math.multiplyExact(Shapes.numel(t.shape()), (long) t.dtype().byteSize());
            assertThat(t.byteSize()).isEqualTo(bytes);
            if (at >= 0) assertThat(t.begin()).isEqualTo(at);
            at = t.end();
            total += bytes;
            assertThat(st.bytes(n).remaining()).isEqualTo(bytes);
        }
        assertThat(total).isLessThanOrEqualTo(fileSize);
    }

    private static final int SAFETENSORS_OPS = 10;

    private static final String[] NUMBERS = {"-0", "-1", "0", "1", "3", "4", "24", "2147483647", "2147483648",
            "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e400", "1.5",
            "00", "\"4\"", "null", "[]", "-9223372036854775808"};
    private static final String[] STRINGS = {"\"F16\"", "\"\"", "\"__metadata__\"", "\"scalar\"", "\"\\u0000\"",
            "\"BF16\"", "\"I64\"", "\"F64\"", "\"dtype\"", "1", "null", "{}", "\"\\ud800\""};
    private static final byte[] INTERESTING = {0, -1, '"', '-', '{', '}', ',', ':', '[', ']', '0', '9', ' ', '\\',
            (byte) 0x80, (byte) 0xC0, (byte) 0xEF, (byte) 0xFE, 0x7F};

    static byte[] mutateSafetensors(byte[] base, int op, Random r) {
        int headerLength = (int) ByteBuffer.wrap(base, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(base, 8, headerLength, StandardCharsets.UTF_8);
        byte[] data = java.util.Arrays.copyOfRange(base, 8 + headerLength, base.length);
        byte[] b = base.clone();
        switch (op) {
            case 0 -> {                                                                  // flip bits, header-biased
                for (int k = 1 + r.nextInt(3); k > 0; k--) {
                    int at = r.nextInt(4) > 0 ? 8 + r.nextInt(headerLength) : r.nextInt(b.length);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b[r.nextInt(b.length)] = INTERESTING[r.nextInt(INTERESTING.length)];
            case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));               // truncate
            case 3 -> {                                                                  // insert bytes
                int at = r.nextInt(b.length + 1), n = 1 + r.nextInt(8);
                byte[] ins = new byte[n];
                for (int k = 0; k < n; k++) ins[k] = r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)] : (byte) r.nextInt();
                b = splice(b, at, 0, ins);
            }
            case 4 -> {                                                                  // delete a range
                int at = r.nextInt(b.length), n = 1 + r.nextInt(Math.min(16, b.length - at));
                b = splice(b, at, n, new byte[0]);
            }
            case 5 -> {                                                                  // the u64 header length
                long[] lengths = {0, 1, 2, headerLength - 1, headerLength + 1, b.length - 8, b.length, 100_000_001,
                        1L << 31, 1L << 32, Long.MAX_VALUE, -1, r.nextLong()};
                ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(lengths[r.nextInt(lengths.length)]);
            }
            case 6 -> b = withHeader(replaceToken(header, "-?\\d+", NUMBERS, r), data);   // a number, length fixed up
            case 7 -> b = withHeader(replaceToken(header, "\"[^\"]*\"", STRINGS, r), data);
            case 8 -> {                                                                  // structural edits
                String h = switch (r.nextInt(6)) {
                    case 0 -> header.replaceFirst("\\{", "{\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},");
                    case 1 -> header.replaceFirst(",\"scalar\":\\{[^}]*\\}", "");
                    case 2 -> header.trim() + " xyz";
                    case 3 -> header.trim() + "{}";
                    case 4 -> "[" + header.trim() + "]";
                    default -> header.replace("}", "}}");
                };
                b = withHeader(h, data);
            }
            default -> {                                                                 // encodings
                byte[] h = switch (r.nextInt(3)) {
                    case 0 -> header.getBytes(StandardCharsets.UTF_16LE);
                    case 1 -> header.getBytes(StandardCharsets.UTF_16);
                    default -> ("\uFEFF" + header).getBytes(StandardCharsets.UTF_8);
                };
                b = withHeader(h, data);
            }
        }
        return b;
    }

    /** {@code text} with one random match of {@code token} replaced by one of {@code choices}. */
    private static String replaceToken(String text, String token, String[] choices, Random r) {
        List<int[]> spans = new ArrayList<>();
        Matcher m = Pattern.compile(token).matcher(text);
        while (m.find()) spans.add(new int[]{m.start(), m.end()});
        if (spans.isEmpty()) return text;
        int[] s = spans.get(r.nextInt(spans.size()));
        return text.substring(0, s[0]) + choices[r.nextInt(choices.length)] + text.substring(s[1]);
    }

    private static byte[] withHeader(String header, byte[] data) {
        return withHeader(header.getBytes(StandardCharsets.UTF_8), data);
    }

    private static byte[] withHeader(byte[] header, byte[] data) {
        return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).put(data).array();
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    // ---------------------------------------------------------------- config.json

    private static final String[] CONFIG_FIELDS = {"vocab_size", "hidden_size", "intermediate_size",
            "moe_intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "q_lora_rank",
            "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "n_routed_experts",
            "n_shared_experts", "num_experts_per_tok", "n_group", "topk_group", "first_k_dense_replace",
            "moe_layer_freq", "routed_scaling_factor", "rope_theta", "rms_norm_eps", "max_position_embeddings",
            "attention_dropout", "initializer_range", "norm_topk_prob", "rope_scaling", "topk_method"};
    private static final String[] CONFIG_VALUES = {"-5", "-1", "-0", "0", "1", "2", "3", "4", "7", "16", "64", "128",
            "1000", "30000", "33554433", "100000000", "2000000000", "2147483647", "2147483648", "-2147483648",
            "1e400", "-1e400", "1e300", "1e-300", "1e39", "0.5", "1.5", "1e-6", "\"x\"", "null", "true", "[]", "{}",
            "99999999999999999999999"};

    @Test
    void mutatedConfigsAreReadCorrectlyOrRejectedByName() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random r = new Random(SEED + 1);
            int accepted = 0, cases = 1200 * SCALE;
            MoonlightConfig base = MoonlightConfig.read(Files.writeString(tmp.resolve("config-base.json"), config));
            for (int i = 0; i < cases; i++) {
                int op = r.nextInt(4);
                byte[] bytes = mutateConfig(op, r);
                Path f = Files.write(tmp.resolve("config-" + i + ".json"), bytes);
                try {
                    MoonlightConfig c = MoonlightConfig.read(f);
                    // accepted: bounded, self-consistent, and round-trips through its JSON
                    assertThat(ModelShapes.tensorCount(c)).isLessThanOrEqualTo(MoonlightConfig.MAX_TENSORS);
                    assertThat(ModelShapes.tensorCount(c)).isEqualTo(ModelShapes.expected(c).size());
                    assertThat(ParameterCounts.of(c).total()).isLessThanOrEqualTo(MoonlightConfig.MAX_PARAMETERS);
                    assertThat(MoonlightConfig.fromJson(c.toJson(), "round trip").toJson()).isEqualTo(c.toJson());
                    assertThat(Double.isFinite(c.routedScalingFactor() * c.rmsNormEps() * c.ropeTheta())).isTrue();
                    accepted++;
                } catch (IllegalArgumentException e) {
                    assertThat(e.getMessage()).as(replay("config", i, op)).startsWith(f.toString());
                } catch (Throwable t) {
                    fail(replay("config", i, op) + ": " + t, t);
                }
                Files.delete(f);
            }
            System.out.printf("ReaderFuzzTest: config.json %d cases, %d accepted, %d rejected%n", cases, accepted,
                    cases - accepted);
            assertThat(accepted).isPositive();
            assertThat(base).isNotNull();
        });
    }

    static byte[] mutateConfig(int op, Random r) {
        String text = config;
        switch (op) {
            case 0, 1 -> {                                                   // 1-3 fields set to hostile values
                for (int k = 1 + r.nextInt(3); k > 0; k--) {
                    String field = CONFIG_FIELDS[r.nextInt(CONFIG_FIELDS.length)];
                    String value = CONFIG_VALUES[r.nextInt(CONFIG_VALUES.length)];
                    String next = text.replaceFirst("\"" + field + "\" : [^,\\n]*", "\"" + field + "\" : " + Matcher.quoteReplacement(value));
                    text = next.equals(text) ? text.replaceFirst("\\{", "{\"" + field + "\": " + Matcher.quoteReplacement(value) + ",") : next;
                }
            }
            case 2 -> {                                                      // bytes
                byte[] b = text.getBytes(StandardCharsets.UTF_8);
                return switch (r.nextInt(4)) {
                    case 0 -> {
                        b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                        yield b;
                    }
                    case 1 -> java.util.Arrays.copyOf(b, r.nextInt(b.length));
                    case 2 -> splice(b, r.nextInt(b.length), 0, new byte[]{INTERESTING[r.nextInt(INTERESTING.length)]});
                    default -> {
                        b[r.nextInt(b.length)] = INTERESTING[r.nextInt(INTERESTING.length)];
                        yield b;
                    }
                };
            }
            default -> {                                                     // encodings and structure
                return switch (r.nextInt(6)) {
                    case 0 -> text.getBytes(StandardCharsets.UTF_16LE);
                    case 1 -> text.getBytes(StandardCharsets.UTF_16);
                    case 2 -> ("\uFEFF" + text).getBytes(StandardCharsets.UTF_8);
                    case 3 -> (text + " xyz").getBytes(StandardCharsets.UTF_8);
                    case 4 -> text.replaceFirst("\\{", "{\"hidden_size\": 64,").getBytes(StandardCharsets.UTF_8);
                    default -> ("[" + text + "]").getBytes(StandardCharsets.UTF_8);
                };
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- a checkpoint directory

    @Test
    void mutatedCheckpointConfigsAndIndexesLoadCorrectlyOrAreRejectedByName() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random r = new Random(SEED + 2);
            int accepted = 0, cases = 250 * SCALE;
            Path dir = ModelDirs.copy(model, tmp.resolve("ck"));
            Path configFile = dir.resolve(HfCheckpoint.CONFIG);
            Path sharded = tmp.resolve("ck-sharded");                                   // the same weights, 7 shards
            MoonlightCheckpoint.Loaded base = MoonlightCheckpoint.load(model, ModelDirs.BE);
            MoonlightCheckpoint.save(sharded, base.config(), base.parameters(), 100_000);
            base.parameters().closeAll();
            Path indexFile = sharded.resolve(HfCheckpoint.INDEX);
            String index = Files.readString(indexFile);
            for (int i = 0; i < cases; i++) {
                int op = r.nextInt(6);
                Path ck = op < 4 ? dir : sharded;
                if (op < 4) Files.write(configFile, mutateConfig(op, r));
                else Files.write(indexFile, mutateIndex(index, op, r));
                try {
                    MoonlightCheckpoint.Loaded l = MoonlightCheckpoint.load(ck, ModelDirs.BE);
                    TreeMap<String, String> shapes = new TreeMap<>();
                    l.parameters().asMap().forEach((n, t) -> shapes.put(n, java.util.Arrays.toString(t.shape())));
                    TreeMap<String, String> expected = new TreeMap<>();
                    ModelShapes.expected(l.config()).forEach((n, s) -> expected.put(n, java.util.Arrays.toString(s)));
                    assertThat(shapes).isEqualTo(expected);
                    l.parameters().closeAll();
                    accepted++;
                } catch (SafetensorsException | IllegalArgumentException e) {
                    assertThat(e.getMessage()).as(replay("checkpoint", i, op)).startsWith(ck.toString());
                } catch (Throwable t) {
                    fail(replay("checkpoint", i, op) + ": " + t, t);
                }
            }
            System.out.printf("ReaderFuzzTest: checkpoint %d cases, %d loaded, %d rejected%n", cases, accepted,
                    cases - accepted);
            assertThat(accepted).isPositive();
        });
    }

    private static final String[] SHARD_NAMES = {"\"model-00001-of-00004.safetensors\"", "\"model-00004-of-00004.safetensors\"",
            "\"model\\u0000.safetensors\"", "\"../model.safetensors\"", "\"\"", "\".\"", "\"config.json\"",
            "\"absent.safetensors\"", "\"model.safetensors.index.json\"", "1", "null", "\"a\\nb\""};

    static byte[] mutateIndex(String index, int op, Random r) {
        if (op == 4) {
            Matcher m = Pattern.compile("-of-(\\d{5})").matcher(index);
            String shards = m.find() ? m.group(1) : "00001";
            String[] names = SHARD_NAMES.clone();
            for (int k = 0; k < names.length; k++) names[k] = names[k].replace("00004", shards);
            return replaceToken(index, "\"model-\\d{5}-of-\\d{5}\\.safetensors\"", names, r).getBytes(StandardCharsets.UTF_8);
        }
        return switch (r.nextInt(5)) {
            case 0 -> replaceToken(index, "\\d+", NUMBERS, r).getBytes(StandardCharsets.UTF_8);  // total_size
            case 1 -> index.replaceFirst("\"[^\"]*\": \"model-[^\"]*\",?", "").getBytes(StandardCharsets.UTF_8);
            case 2 -> index.replaceFirst("\"weight_map\": \\{", "\"weight_map\": {\"lm_head.weight\": \"model-00001-of-00004.safetensors\",")
                    .getBytes(StandardCharsets.UTF_8);
            case 3 -> java.util.Arrays.copyOf(index.getBytes(StandardCharsets.UTF_8), r.nextInt(index.length()));
            default -> {
                byte[] b = index.getBytes(StandardCharsets.UTF_8);
                b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                yield b;
            }
        };
    }

    private static String replay(String what, int i, int op) {
        return what + " case " + i + " (mutation " + op + ") of seed " + SEED + " (-Dmoonlight.fuzz.seed=" + SEED + ")";
    }
}
