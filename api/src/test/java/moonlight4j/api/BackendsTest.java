package moonlight4j.api;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackendsTest {

    @Test
    void providersAreSortedByPriority() {
        assertThat(Backends.providers()).extracting(BackendProvider::name).containsExactly("fake-broken", "fake-runs");
    }

    @Test
    void defaultSkipsProvidersWhoseNativePartsDoNotLoad() {
        int before = FakeProviders.Runs.created;
        Backends.get(null, null);
        assertThat(FakeProviders.Runs.created).isEqualTo(before + 1);
    }

    @Test
    void explicitNameBeatsEnvironment() {
        assertThatThrownBy(() -> Backends.get("nope", "fake-runs"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown backend 'nope'")
                .hasMessageContaining("fake-runs")
                .hasMessageContaining("fake-broken (unavailable: native library libfake.so not found)");
    }

    @Test
    void environmentIsUsedWhenNoNameGiven() {
        assertThatThrownBy(() -> Backends.get(" ", "fake-broken"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backend 'fake-broken' cannot run here: native library libfake.so not found");
    }

    @Test
    void shapesBroadcastAndReject() {
        assertThat(Shapes.broadcast("add", new int[]{4, 1, 3}, new int[]{5, 1})).containsExactly(4, 5, 3);
        assertThatThrownBy(() -> Shapes.broadcast("add", new int[]{2, 3}, new int[]{4}))
                .hasMessage("add: shapes [2, 3] and [4] do not broadcast");
        assertThatThrownBy(() -> Shapes.numel(1 << 30, 1 << 30, 1 << 30))
                .isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> Shapes.numel(3, -1)).hasMessageContaining("negative dimension");
    }

    @Test
    void dtypeParseNamesTheUnknownOne() {
        assertThat(DType.parse("BF16")).isEqualTo(DType.BF16);
        assertThatThrownBy(() -> DType.parse("F16")).hasMessageContaining("unknown dtype 'F16'");
    }
}
