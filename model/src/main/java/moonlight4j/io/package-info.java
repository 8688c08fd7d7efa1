/**
 * Files: the safetensors format and Hugging Face checkpoint directories, read from untrusted input with every field
 * checked (the error names the file, the tensor and what was expected), written atomically.
 *
 * <p>Reading order: {@link moonlight4j.io.TensorInfo} → {@link moonlight4j.io.SafetensorsHeader} (the JSON header and
 * its checks) → {@link moonlight4j.io.Safetensors} (open, read, write) → {@link moonlight4j.io.SafetensorsFile}
 * (memory-mapped reads) and {@link moonlight4j.io.SafetensorsWriter} → {@link moonlight4j.io.HfIndex} (the shard
 * index) → {@link moonlight4j.io.HfCheckpoint} (config.json plus one file or shards) →
 * {@link moonlight4j.io.AtomicFiles} (write to a temporary file, then rename). The model's own checkpoint layout is
 * {@link moonlight4j.model.MoonlightCheckpoint} (docs/model.md#tensor-names-and-shapes).
 */
package moonlight4j.io;
