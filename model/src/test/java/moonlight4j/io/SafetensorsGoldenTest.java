package moonlight4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import moonlight4j.api.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads the golden files written by the Python release (safetensors 0.x, see golden-data/FORMAT.md) and checks that
 * our header encoder reproduces their headers byte for byte.
 */
class SafetensorsGoldenTest {

    static final Path GOLDEN = Path.of("..", "golden-data");

    static List<Path> goldenFiles() throws IOException {
        try (Stream<Path> s = Files.list(GOLDEN)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void readsNewtonSchulzHeaderAndData() throws IOException {
        Path f = GOLDEN.resolve("newton_schulz__64x96.safetensors");
        try (SafetensorsFile st = Safetensors.open(f)) {
            // expected values read independently with Python's struct/json from the same file
            assertThat(st.names()).containsExactly("in.G", "out.X_fp32", "out.X");
            assertThat(st.info("in.G")).isEqualTo(new TensorInfo("in.G", DType.F32, new int[] {64, 96}, 0, 24576));
            assertThat(st.info("out.X_fp32")).isEqualTo(new TensorInfo("out.X_fp32", DType.F32, new int[] {64, 96}, 24576, 49152));
            assertThat(st.info("out.X")).isEqualTo(new TensorInfo("out.X", DType.BF16, new int[] {64, 96}, 49152, 61440));
            assertThat(st.metadata()).containsEntry("kind", "newton_schulz").containsEntry("format_version", "1");
            assertThat(st.metadata().keySet()).startsWith("kind", "format_version", "source", "torch", "config");
            ByteBuffer g = st.bytes("in.G");
            assertThat(g.isReadOnly()).isTrue();
            assertThat(g.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(g.remaining()).isEqualTo(24576);
            assertThat(Integer.toHexString(g.getInt(0))).isEqualTo("bdde2d12");
            assertThat(g.getFloat(4)).isEqualTo(-0.5102964043617249f);
            ByteBuffer x = st.bytes("out.X");
            assertThat(x.getShort(0) & 0xFFFF).isEqualTo(48024);
            assertThat(x.getShort(2) & 0xFFFF).isEqualTo(48552);
        }
    }

    @Test
    void everyGoldenFileOpensAndItsHeaderIsReEncodedByteForByte() throws IOException {
        List<Path> files = goldenFiles();
        assertThat(files).hasSizeGreaterThan(10);
        for (Path f : files) {
            byte[] all = Files.readAllBytes(f);
            long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            try (SafetensorsFile st = Safetensors.open(f)) {
                List<TensorInfo> infos = new ArrayList<>();
                for (String name : st.names()) infos.add(st.info(name));
                byte[] encoded = SafetensorsWriter.encodeHeader(st.metadata(), infos);
                assertThat(encoded.length).as(f.toString()).isEqualTo(8 + n);
                assertThat(encoded).as(f.toString()).isEqualTo(Arrays.copyOf(all, (int) (8 + n)));
            }
        }
    }

    @Test
    void smallMappingWindowsReadTheSameBytes() throws IOException {
        Path f = GOLDEN.resolve("muon_step__wd0_nesterov.safetensors");
        try (SafetensorsFile whole = Safetensors.open(f); SafetensorsFile windowed = Safetensors.open(f, 100)) {
            assertThat(windowed.names()).isEqualTo(whole.names());
            for (String name : whole.names()) {
                assertThat(windowed.bytes(name)).as(name).isEqualTo(whole.bytes(name));
                assertThat(windowed.bytes(name).remaining()).isEqualTo(whole.info(name).byteSize());
            }
        }
    }

    @Test
    void aTensorOver2GiBIsListedButNotReadableAndItsNeighboursAre(@TempDir Path dir)
            throws IOException {
        // a sparse 3 GiB file: no disk space used; the big tensor cannot fit one ByteBuffer (the SPI reads one)
        long big = 3L << 30;
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + big / 4 + "],\"data_offsets\":[0," + big + "]},"
                + "\"small\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[" + big + "," + (big + 4) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        Path f = dir.resolve("sparse.safetensors");
        try (var raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            raf.write(h);
            raf.setLength(8 + h.length + big + 4);
            raf.seek(8 + h.length + big);
            raf.write(new byte[] {42, 0, 0, 0});
        }
        try (SafetensorsFile st = Safetensors.open(f)) {
            assertThat(st.names()).containsExactly("big", "small");
            assertThat(st.info("big").byteSize()).isEqualTo(big);
            assertThat(st.bytes("small").getInt(0)).isEqualTo(42);
            assertThatThrownBy(() -> st.bytes("big"))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("tensor 'big' is 3221225472 bytes");
        }
    }

    @Test
    void readingAfterCloseIsAnError() throws IOException {
        Path f = GOLDEN.resolve("newton_schulz__64x96.safetensors");
        SafetensorsFile st = Safetensors.open(f);
        st.close();
        st.close();
        assertThatThrownBy(() -> st.bytes("in.G"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed").hasMessageContaining("in.G");
    }
}
