package moonlight4j.cpu;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The provider is found by ServiceLoader and the backend's results do not depend on its thread count. */
class CpuBackendProviderTest {

    @Test
    void registeredAsCpuWithPriorityZero() {
        assertThat(Backends.providers()).anySatisfy(p -> {
            assertThat(p.name()).isEqualTo("cpu");
            assertThat(p.priority()).isZero();
            assertThat(p.unavailableReason()).isNull();
        });
        Backend be = Backends.get("cpu");
        assertThat(be).isInstanceOf(CpuBackend.class);
        assertThat(be.name()).isEqualTo("cpu");
        assertThat(Backends.get("cpu")).isSameAs(be);
    }

    @Test
    void malformedThreadPropertyIsReportedNotThrown() {
        String old = System.getProperty(CpuBackend.THREADS_PROPERTY);
        try {
            System.setProperty(CpuBackend.THREADS_PROPERTY, "zero");
            assertThat(new CpuBackendProvider().unavailableReason())
                    .isEqualTo("system property moonlight.cpu.threads = 'zero': expected a positive integer");
        } finally {
            if (old == null) System.clearProperty(CpuBackend.THREADS_PROPERTY);
            else System.setProperty(CpuBackend.THREADS_PROPERTY, old);
        }
    }

    @Test
    void bf16MatmulBitsDoNotDependOnTheThreadCount() {
        int m = 130, k = 257, n = 600;
        float[] a = new float[m * k], b = new float[k * n];
        java.util.Random r = new java.util.Random(2);
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        short[] first = null;
        for (int threads : new int[]{1, 2, 3}) {
            try (CpuBackend be = new CpuBackend(threads)) {
                Tensor ta = be.cast(be.fromFloats(a, 2, m / 2, k), DType.BF16), tb = be.cast(be.fromFloats(b, k, n), DType.BF16);
                short[] bits = be.toBf16Bits(be.matmul(ta, tb, false, false));
                if (first == null) first = bits;
                else assertThat(bits).as("threads = " + threads).containsExactly(first);
            }
        }
    }

    @Test
    void closedTensorIsRejectedWithAClearMessage() {
        try (CpuBackend be = new CpuBackend(1)) {
            Tensor x = be.zeros(DType.F32, 2, 3);
            x.close();
            assertThatThrownBy(() -> be.exp(x)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("exp: tensor [2, 3] F32 is closed");
        }
    }
}
