package moonlight4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

/**
 * An HF model directory as published on the Hub: {@code config.json} plus either one {@code model.safetensors} or
 * a {@code model.safetensors.index.json} whose {@code weight_map} names the shard ({@code model-00001-of-00003.safetensors},
 * ...) holding each tensor. Every shard is mapped at {@link #open}; tensors are copied into a backend on
 * {@link #load}, in the file's dtype (a BF16 checkpoint loads as BF16).
 */
public final class HfCheckpoint implements AutoCloseable {

    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    /** transformers' default {@code max_shard_size} ("5GB"). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    /** Problems listed in one error before the rest are counted. */
    private static final int MAX_LISTED = 50;

    private final Path dir;
    private final JsonNode config;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> fileOf; // shard order, then offset order

    private HfCheckpoint(Path dir, JsonNode config, List<SafetensorsFile> shards) {
        this.dir = dir;
        this.config = config;
        this.shards = List.copyOf(shards);
        Map<String, SafetensorsFile> m = new LinkedHashMap<>();
        for (SafetensorsFile f : shards) for (String n : f.names()) m.put(n, f);
        this.fileOf = m;
    }

    /**
     * Opens {@code dir}: parses {@code config.json}, maps every shard and checks that the index and the shards agree
     * (every listed shard exists, every listed tensor is in its shard, every shard tensor is listed for that shard);
     * all disagreements are reported in one {@link SafetensorsException}.
     */
    public static HfCheckpoint open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw SafetensorsException.of(dir, "not a checkpoint directory (no such directory)");
        JsonNode config = HfIndex.readJson(dir.resolve(CONFIG));
        Path index = dir.resolve(INDEX);
        if (Files.exists(index)) return new HfCheckpoint(dir, config, openSharded(dir, index));
        Path single = dir.resolve(SINGLE);
        if (Files.exists(single)) return new HfCheckpoint(dir, config, List.of(Safetensors.open(single)));
        throw SafetensorsException.of(dir, "expected " + SINGLE + " or " + INDEX + " next to " + CONFIG + ", found neither");
    }

    private static List<SafetensorsFile> openSharded(Path dir, Path indexFile) throws IOException {
        HfIndex index = HfIndex.read(indexFile);
        Map<String, List<String>> byShard = new TreeMap<>(); // shard file → tensors the index puts there
        index.weightMap().forEach((t, s) -> byShard.computeIfAbsent(s, k -> new ArrayList<>()).add(t));
        List<String> problems = new ArrayList<>();
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                Path shard = resolveShard(dir, indexFile, e.getKey(), e.getValue().get(0));
                if (!Files.isRegularFile(shard)) {
                    problems.add("shard " + shard + " listed for " + e.getValue().size() + " tensors (e.g. '"
                            + e.getValue().get(0) + "') does not exist");
                    continue;
                }
                SafetensorsFile f = Safetensors.open(shard);
                opened.add(f);
                for (String t : e.getValue()) {
                    if (!f.has(t)) problems.add("tensor '" + t + "' listed in the index for " + shard + " is absent from that shard");
                }
                for (String t : f.names()) {
                    String listed = index.weightMap().get(t);
                    if (listed == null) {
                        problems.add("tensor '" + t + "' in " + shard + " is not listed in the index");
                    } else if (!listed.equals(e.getKey())) {
                        problems.add("tensor '" + t + "' in " + shard + " is listed in the index for shard " + listed);
                    }
                }
            }
            if (!problems.isEmpty()) {
                throw SafetensorsException.of(indexFile, "index and shards disagree:" + listing(problems));
            }
            return opened;
        } catch (IOException | RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** {@code dir/name}; a name the file system refuses becomes an error naming the index and a tensor. */
    private static Path resolveShard(Path dir, Path indexFile, String name, String tensor) throws SafetensorsException {
        try {
            return dir.resolve(name);
        } catch (java.nio.file.InvalidPathException e) {
            throw SafetensorsException.of(indexFile, tensor, "weight_map value '" + name
                    + "' is not a valid file name here: " + e.getReason());
        }
    }

    public Path dir() {
        return dir;
    }

    /** The parsed {@code config.json} (an object). */
    public JsonNode config() {
        return config;
    }

    /** All tensor names: shards in file-name order, each in data-offset order. */
    public List<String> names() {
        return List.copyOf(fileOf.keySet());
    }

    public boolean has(String name) {
        return fileOf.containsKey(name);
    }

    /** Header entry of {@code name} (offsets relative to its shard's data block). */
    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** The shard that holds {@code name}. */
    public Path fileOf(String name) {
        return file(name).path();
    }

    /** A copy of tensor {@code name} in {@code be}, in the checkpoint's dtype and shape. */
    public Tensor load(Backend be, String name) {
        return file(name).load(be, name);
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) {
            throw new NoSuchElementException(dir + ": no tensor '" + name + "' in this checkpoint (" + fileOf.size() + " tensors)");
        }
        return f;
    }

    /**
     * Checks that the checkpoint holds exactly the tensors of {@code expectedShapes} with those shapes; otherwise
     * throws one {@link IllegalArgumentException} listing every missing, unexpected and mis-shaped tensor.
     */
    public void checkExpected(Map<String, int[]> expectedShapes) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, int[]> e : expectedShapes.entrySet()) {
            SafetensorsFile f = fileOf.get(e.getKey());
            if (f == null) {
                problems.add("missing: '" + e.getKey() + "' expected shape " + Arrays.toString(e.getValue()));
            } else {
                int[] found = f.info(e.getKey()).shape();
                if (!Arrays.equals(found, e.getValue())) {
                    problems.add("mis-shaped: '" + e.getKey() + "' expected " + Arrays.toString(e.getValue())
                            + ", found " + Arrays.toString(found) + " in " + f.path().getFileName());
                }
            }
        }
        for (String n : fileOf.keySet()) {
            if (!expectedShapes.containsKey(n)) {
                problems.add("unexpected: '" + n + "' shape " + Arrays.toString(info(n).shape()) + " in "
                        + fileOf.get(n).path().getFileName());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(dir + ": checkpoint does not hold the expected tensors ("
                    + expectedShapes.size() + " expected, " + fileOf.size() + " found):" + listing(problems));
        }
    }

    /** Unmaps every shard. Idempotent. */
    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }

    /**
     * Saves {@code config} and {@code tensors} as an HF checkpoint in {@code dir}: one {@code model.safetensors}
     * when the tensors total at most {@code maxShardBytes}, else shards filled in iteration order up to
     * {@code maxShardBytes} each (a larger tensor gets a shard of its own) plus the index, written last. Everything
     * is written into a temporary directory that then replaces {@code dir} ({@link AtomicFiles#replaceDirectory}).
     * Shards carry the metadata {@code {"format": "pt"}} that transformers expects.
     */
    public static void save(Path dir, JsonNode config, Map<String, Tensor> tensors, long maxShardBytes) throws IOException {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        if (config == null || !config.isObject()) throw new IllegalArgumentException("config must be a JSON object");
        List<Map<String, Tensor>> shards = new ArrayList<>();
        Map<String, Tensor> current = null;
        long currentBytes = 0, total = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long bytes = Math.multiplyExact(e.getValue().numel(), (long) e.getValue().dtype().byteSize());
            if (current == null || (!current.isEmpty() && currentBytes + bytes > maxShardBytes)) {
                current = new LinkedHashMap<>();
                shards.add(current);
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
            total += bytes;
        }
        if (shards.isEmpty()) shards.add(new LinkedHashMap<>());
        long totalSize = total;
        Map<String, String> meta = Map.of("format", "pt");
        AtomicFiles.replaceDirectory(dir, tmp -> {
            Files.writeString(tmp.resolve(CONFIG), HfIndex.pretty(config) + "\n", StandardCharsets.UTF_8);
            if (shards.size() == 1) {
                Safetensors.write(tmp.resolve(SINGLE), shards.get(0), meta);
                return;
            }
            Map<String, String> weightMap = new LinkedHashMap<>();
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Safetensors.write(tmp.resolve(name), shards.get(i), meta);
                for (String t : shards.get(i).keySet()) weightMap.put(t, name);
            }
            new HfIndex(totalSize, weightMap).write(tmp.resolve(INDEX));
        });
    }

    private static String listing(List<String> problems) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(problems.size(), MAX_LISTED); i++) sb.append("\n  ").append(problems.get(i));
        if (problems.size() > MAX_LISTED) sb.append("\n  ... and ").append(problems.size() - MAX_LISTED).append(" more");
        return sb.toString();
    }
}
