package moonlight4j.api;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TensorScopeTest {

    /** A tensor that only records whether it was closed, registered as a backend's tensor would be. */
    static final class Probe implements Tensor {
        boolean closed;

        Probe() {
            TensorScope.track(this);
        }

        @Override
        public int[] shape() {
            return new int[]{1};
        }

        @Override
        public DType dtype() {
            return DType.F32;
        }

        @Override
        public Backend backend() {
            return null;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void closesWhatWasCreatedInsideAndNothingElse() {
        Probe before = new Probe();
        Probe inside;
        try (TensorScope s = TensorScope.open()) {
            inside = new Probe();
            assertThat(s.size()).isEqualTo(1);
        }
        assertThat(inside.closed).isTrue();
        assertThat(before.closed).as("created with no scope: the caller's").isFalse();
    }

    @Test
    void keepHandsTheTensorToTheEnclosingScope() {
        Probe kept, dropped;
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope inner = TensorScope.open()) {
                kept = inner.keep(new Probe());
                dropped = new Probe();
            }
            assertThat(dropped.closed).isTrue();
            assertThat(kept.closed).as("kept: now the outer scope's").isFalse();
            assertThat(outer.size()).isEqualTo(1);
        }
        assertThat(kept.closed).isTrue();
    }

    @Test
    void keepWithNoEnclosingScopeGivesTheTensorToTheCaller() {
        Probe kept;
        try (TensorScope s = TensorScope.open()) {
            kept = s.keep(new Probe());
        }
        assertThat(kept.closed).isFalse();
    }

    @Test
    void detachGivesAResultToTheCaller() {
        Probe result, temp;
        try (TensorScope outer = TensorScope.open(); TensorScope inner = TensorScope.open()) {
            temp = new Probe();
            result = TensorScope.detach(new Probe());
        }
        assertThat(temp.closed).isTrue();
        assertThat(result.closed).isFalse();
    }

    @Test
    void outsideCreatesStateNoScopeFrees() {
        Probe state;
        List<Probe> temps = new ArrayList<>();
        try (TensorScope s = TensorScope.open()) {
            temps.add(new Probe());
            state = TensorScope.outside(Probe::new);
            temps.add(new Probe());                      // the scope is in force again after outside()
        }
        assertThat(state.closed).isFalse();
        assertThat(temps).allMatch(p -> p.closed);
    }

    @Test
    void outOfOrderCloseIsAnError() {
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        assertThatThrownBy(outer::close).isInstanceOf(IllegalStateException.class).hasMessageContaining("out of order");
        inner.close();
        outer.close();
        Probe after = new Probe();
        assertThat(after.closed).isFalse();
        try (TensorScope s = TensorScope.open()) {
            assertThat(s.size()).isZero();                // no stale scope left on the thread
        }
    }

    @Test
    void aScopeBelongsToItsThread() throws Exception {
        try (TensorScope s = TensorScope.open()) {
            Throwable[] seen = new Throwable[1];
            Thread t = new Thread(() -> {
                try {
                    s.keep(new Probe());
                } catch (Throwable e) {
                    seen[0] = e;
                }
            });
            t.start();
            t.join();
            assertThat(seen[0]).isInstanceOf(IllegalStateException.class).hasMessageContaining("belongs to thread");
        }
    }
}
