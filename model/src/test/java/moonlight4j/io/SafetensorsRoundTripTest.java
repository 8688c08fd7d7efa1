package moonlight4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;
import static org.quicktheories.generators.SourceDSL.maps;
import static org.quicktheories.generators.SourceDSL.strings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.core.Gen;

/** write → open gives back every tensor bit for bit, with its name, dtype, shape and the metadata. */
class SafetensorsRoundTripTest {

    static final Backend CPU = Backends.get("cpu");

    @TempDir
    Path dir;

    /** One tensor to write: dtype, shape (rank 0-4, dims 0-5: scalars and zero-size dims included), data seed. */
    record Spec(DType dtype, int[] shape, long seed) {
        @Override
        public String toString() {
            return dtype + Arrays.toString(shape) + "#" + seed;
        }
    }

    static Gen<Spec> specs() {
        Gen<DType> dtypes = integers().between(0, DType.values().length - 1).map(i -> DType.values()[i]);
        Gen<int[]> shapes = lists().of(integers().between(0, 5)).ofSizeBetween(0, 4)
                .map(l -> l.stream().mapToInt(Integer::intValue).toArray());
        return dtypes.zip(shapes, longs().all(), Spec::new);
    }

    /** A tensor of random bit patterns (every exponent, sign, subnormal, infinity and NaN can occur). */
    static Tensor random(Spec s) {
        int bytes = Math.toIntExact(moonlight4j.api.Shapes.numel(s.shape()) * s.dtype().byteSize());
        byte[] b = new byte[bytes];
        new Random(s.seed()).nextBytes(b);
        return CPU.fromBuffer(ByteBuffer.wrap(b), s.dtype(), s.shape());
    }

    static ByteBuffer bytesOf(Tensor t) {
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(t.numel() * t.dtype().byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        t.backend().writeTo(t, out);
        return out.flip();
    }

    @Test
    void writeThenOpenIsBitIdentical() {
        // metadata: arbitrary BMP text without surrogates (control characters, quotes, backslashes, non-ASCII)
        Gen<String> text = strings().betweenCodePoints(0, 0xD7FF).ofLengthBetween(0, 12);
        Gen<Map<String, String>> metadata = maps().of(text, text).ofSizeBetween(0, 4);
        Gen<List<Spec>> tensorSets = lists().of(specs()).ofSizeBetween(0, 6);
        Gen<List<String>> names = lists().of(text).ofSizeBetween(6, 6);
        qt().withExamples(150).forAll(tensorSets, names, metadata).checkAssert((set, nameList, meta) -> {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (int i = 0; i < set.size(); i++) tensors.put(i + "." + nameList.get(i), random(set.get(i)));
            Path f = dir.resolve("rt-" + System.nanoTime() + ".safetensors");
            try {
                Safetensors.write(f, tensors, meta);
                long n = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                assertThat((8 + n) % 8).as("header padded so that the data block starts 8-aligned").isZero();
                try (SafetensorsFile st = Safetensors.open(f)) {
                    assertThat(st.metadata()).isEqualTo(meta);
                    assertThat(new ArrayList<>(st.metadata().keySet())).isEqualTo(new ArrayList<>(meta.keySet()));
                    assertThat(st.names()).containsExactlyElementsOf(tensors.keySet());
                    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                        Tensor want = e.getValue();
                        TensorInfo info = st.info(e.getKey());
                        assertThat(info.dtype()).isEqualTo(want.dtype());
                        assertThat(info.shape()).isEqualTo(want.shape());
                        ByteBuffer expected = bytesOf(want);
                        assertThat(st.bytes(e.getKey())).isEqualTo(expected);
                        try (Tensor got = st.load(CPU, e.getKey())) {
                            assertThat(got.dtype()).isEqualTo(want.dtype());
                            assertThat(got.shape()).isEqualTo(want.shape());
                            assertThat(bytesOf(got)).isEqualTo(expected);
                        }
                    }
                }
                Files.delete(f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                tensors.values().forEach(Tensor::close);
            }
        });
    }

    @Test
    void tensorsLargerThanTheScratchBufferAreWrittenThroughAMapping() throws IOException {
        // 5,000,000 F32 = 20 MB > the 16 MB scratch buffer of SafetensorsWriter
        Spec big = new Spec(DType.F32, new int[] {5, 1_000_000}, 7);
        Spec small = new Spec(DType.BF16, new int[] {3}, 8);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("small", random(small));
        tensors.put("big", random(big));
        tensors.put("after", random(small));
        Path f = dir.resolve("big.safetensors");
        Safetensors.write(f, tensors, Map.of());
        try (SafetensorsFile st = Safetensors.open(f)) {
            assertThat(st.metadata()).isEmpty();
            for (String n : tensors.keySet()) assertThat(st.bytes(n)).as(n).isEqualTo(bytesOf(tensors.get(n)));
        }
        tensors.values().forEach(Tensor::close);
    }

    @Test
    void rewritingAGoldenFileReproducesItByteForByte() throws IOException {
        for (Path g : SafetensorsGoldenTest.goldenFiles()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> meta;
            try (SafetensorsFile st = Safetensors.open(g)) {
                meta = st.metadata();
                for (String n : st.names()) tensors.put(n, st.load(CPU, n));
            }
            Path f = dir.resolve(g.getFileName());
            Safetensors.write(f, tensors, meta);
            assertThat(Files.readAllBytes(f)).as(g.toString()).isEqualTo(Files.readAllBytes(g));
            tensors.values().forEach(Tensor::close);
        }
    }

    @Test
    void bf16LoadsAsBf16() throws IOException {
        Path g = SafetensorsGoldenTest.GOLDEN.resolve("newton_schulz__64x96.safetensors");
        try (SafetensorsFile st = Safetensors.open(g); Tensor x = st.load(CPU, "out.X")) {
            assertThat(x.dtype()).isEqualTo(DType.BF16);
            assertThat(x.shape()).containsExactly(64, 96);
            short[] bits = CPU.toBf16Bits(x);
            assertThat(bits[0] & 0xFFFF).isEqualTo(48024); // read with Python struct from the same file
            assertThat(bits[1] & 0xFFFF).isEqualTo(48552);
        }
    }
}
