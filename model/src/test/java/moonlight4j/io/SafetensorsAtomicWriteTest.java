package moonlight4j.io;

import static moonlight4j.io.SafetensorsRoundTripTest.CPU;
import static moonlight4j.io.SafetensorsRoundTripTest.bytesOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A write replaces the target only once the new file is complete; a failed write leaves no trace. */
class SafetensorsAtomicWriteTest {

    @TempDir
    Path dir;

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    private Path writeOld() throws IOException {
        Path f = dir.resolve("w.safetensors");
        try (Tensor a = CPU.fromFloats(new float[] {1, 2, 3}, 3)) {
            Safetensors.write(f, Map.of("a", a), Map.of("version", "old"));
        }
        return f;
    }

    /** A tensor closed before the write: its backend's writeTo throws, midway through the data block. */
    private static Tensor closed(DType dtype, int... shape) {
        Tensor t = CPU.zeros(dtype, shape);
        t.close();
        return t;
    }

    @Test
    void failedWriteLeavesTheOldFileIntactAndNoTemporaryFile() throws IOException {
        Path f = writeOld();
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("ok", CPU.fromFloats(new float[] {4, 5}, 2));
        tensors.put("bad", closed(DType.F32, 2, 2));
        assertThatThrownBy(() -> Safetensors.write(f, tensors, Map.of("version", "new")))
                .isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("tensor 'bad'")
                .hasMessageContaining("failed to write")
                .hasCauseInstanceOf(IllegalStateException.class);
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
        assertThat(listing()).containsExactly(f);
        tensors.get("ok").close();
    }

    @Test
    void failureInTheMappedPathAlsoLeavesNoTrace() throws IOException {
        Path f = writeOld();
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("ok", CPU.zeros(DType.F32, 3));
        tensors.put("big", closed(DType.F32, 5, 1_000_000)); // 20 MB: written through a mapping
        assertThatThrownBy(() -> Safetensors.write(f, tensors, Map.of()))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining("tensor 'big'");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
        assertThat(listing()).containsExactly(f);
        tensors.get("ok").close();
    }

    @Test
    void successfulWriteReplacesTheFileWhileAnOpenReaderKeepsTheOldData() throws IOException {
        Path f = writeOld();
        try (SafetensorsFile old = Safetensors.open(f); Tensor b = CPU.fromLongs(new long[] {7, -8}, 2)) {
            Safetensors.write(f, Map.of("b", b), Map.of("version", "new"));
            assertThat(listing()).containsExactly(f);
            try (SafetensorsFile now = Safetensors.open(f)) {
                assertThat(now.names()).containsExactly("b");
                assertThat(now.metadata()).containsExactly(Map.entry("version", "new"));
                assertThat(now.bytes("b")).isEqualTo(bytesOf(b));
            }
            // the old mapping still sees the old, complete file (rename replaced the directory entry only)
            assertThat(old.metadata()).containsEntry("version", "old");
            assertThat(old.bytes("a").getFloat(8)).isEqualTo(3f);
        }
    }

    @Test
    void reservedAndNullNamesAreRejectedBeforeAnythingIsWritten() throws IOException {
        Path f = dir.resolve("x.safetensors");
        try (Tensor a = CPU.zeros(DType.F32, 1)) {
            assertThatThrownBy(() -> Safetensors.write(f, Map.of("__metadata__", a), Map.of()))
                    .isInstanceOf(SafetensorsException.class).hasMessageContaining("reserved");
        }
        assertThat(listing()).isEmpty();
    }
}
