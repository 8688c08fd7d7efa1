package moonlight4j.cpu;

import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The oracle's bf16 rounding model (golden-data/FORMAT.md §3.1) reproduces the release's bf16 Newton–Schulz output
 * bit for bit: {@code X = bf16(G)}, {@code X = X / (‖X‖_F + 1e-7)}, five steps of {@code A = X·Xᵀ;
 * B = b·A + (c·A)·A; X = a·X + B·X}, each op rounded to bf16, matmuls accumulated in fp32 in k order.
 * This is the end-to-end check of {@link Bf16}, the k-order {@link Gemm} and the scalar conversion rule.
 */
class NewtonSchulzBitsTest {

    private static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() {
        CPU.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"newton_schulz__64x96", "newton_schulz__128x64", "newton_schulz__96x96"})
    void bf16NewtonSchulzMatchesTheReleaseBitForBit(String name) throws IOException {
        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(goldenDir().resolve(name + ".safetensors")))
                .order(ByteOrder.LITTLE_ENDIAN);
        Tensor g = read(file, "in.G");
        short[] expected = CPU.toBf16Bits(read(file, "out.X"));

        Tensor x = CPU.cast(g, DType.BF16);
        boolean tall = g.dim(0) > g.dim(1);
        if (tall) x = CPU.transpose(x);
        x = CPU.div(x, CPU.addScalar(CPU.frobeniusNorm(x), 1e-7));
        double a = 3.4445, b = -4.7750, c = 2.0315;
        for (int step = 0; step < 5; step++) {
            Tensor am = CPU.matmul(x, x, false, true);                                        // A = X·Xᵀ
            Tensor bm = CPU.add(CPU.mulScalar(am, b), CPU.matmul(CPU.mulScalar(am, c), am, false, false));
            x = CPU.add(CPU.mulScalar(x, a), CPU.matmul(bm, x, false, false));                 // X = a·X + B·X
        }
        if (tall) x = CPU.transpose(x);
        short[] actual = CPU.toBf16Bits(x);

        int mismatches = 0;
        for (int i = 0; i < actual.length; i++) if (actual[i] != expected[i]) mismatches++;
        assertThat(mismatches).as("bf16 elements differing from the release's out.X in " + name).isZero();
    }

    static Path goldenDir() {
        for (Path p : new Path[]{Path.of("../golden-data"), Path.of("golden-data")}) {
            if (Files.isDirectory(p)) return p;
        }
        throw new IllegalStateException("golden-data/ not found from " + Path.of("").toAbsolutePath());
    }

    /** Reads one tensor of a safetensors file (enough header parsing for these small, flat files). */
    static Tensor read(ByteBuffer file, String tensor) {
        long headerLen = file.getLong(0);
        String header = new String(file.array(), 8, (int) headerLen, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"" + Pattern.quote(tensor)
                        + "\"\\s*:\\s*\\{\\s*\"dtype\"\\s*:\\s*\"(\\w+)\"\\s*,\\s*\"shape\"\\s*:\\s*\\[([\\d,\\s]*)]\\s*,"
                        + "\\s*\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]")
                .matcher(header);
        if (!m.find()) throw new IllegalArgumentException("tensor " + tensor + " not in header: " + header);
        String[] dims = m.group(2).isBlank() ? new String[0] : m.group(2).split(",");
        int[] shape = new int[dims.length];
        for (int i = 0; i < dims.length; i++) shape[i] = Integer.parseInt(dims[i].trim());
        ByteBuffer data = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        data.position((int) (8 + headerLen + Long.parseLong(m.group(3))));
        return CPU.fromBuffer(data, DType.parse(m.group(1)), shape);
    }
}
