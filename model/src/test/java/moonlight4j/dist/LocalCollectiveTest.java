package moonlight4j.dist;

import moonlight4j.api.Bf16;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.Collectives;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@code local} engine. Tests of what works run under {@link #GENEROUS}: their ranks are threads that a loaded
 * 2-core machine may not schedule for seconds, and a pass must not depend on that. Only the time-out test uses
 * {@link #SHORT}, where the expiry is the point; its bound is "far below the hang", not a tight time.
 */
class LocalCollectiveTest {

    private static final CollectiveProvider LOCAL = Collectives.get("local");
    /** For tests that must not time out: a collective that waits this long has hung. */
    private static final Duration GENEROUS = Duration.ofSeconds(60);
    /** For the test whose collective is meant to time out. */
    private static final Duration SHORT = Duration.ofMillis(500);

    /** The contribution of rank r: random floats, different per rank. */
    private static float[] data(int rank, int len) {
        Random rnd = new Random(1000 + rank);
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    @Test
    void allReduceSumsInRankOrderOnEveryRank() {
        int n = 3, len = 101;
        float[] expected = data(0, len);
        for (int r = 1; r < n; r++) {
            float[] x = data(r, len);
            for (int i = 0; i < len; i++) expected[i] += x[i];
        }
        List<float[]> out = LOCAL.launch(n, GENEROUS, c -> {
            float[] b = data(c.rank(), len);
            c.allReduce(b, ReduceOp.SUM);
            return b;
        });
        for (float[] b : out) assertThat(b).containsExactly(expected);
    }

    @Test
    void reduceScatterGivesEachRankItsChunkAndAllGatherRebuilds() {
        int n = 3, chunk = 7;
        List<float[]> out = LOCAL.launch(n, GENEROUS, c -> {
            float[] part = new float[chunk];
            c.reduceScatter(data(c.rank(), n * chunk), part, ReduceOp.SUM);
            float[] full = new float[n * chunk];
            c.allGather(part, full);
            return full;
        });
        float[] reduced = new float[n * chunk];
        for (int r = 0; r < n; r++) {
            float[] x = data(r, n * chunk);
            for (int i = 0; i < reduced.length; i++) reduced[i] += x[i];
        }
        for (float[] full : out) assertThat(full).containsExactly(reduced);
    }

    @Test
    void bf16ReductionAccumulatesInFp32AndRoundsOnce() {
        // 1 + 2^-8 + 2^-8: bf16 keeps 7 fraction bits, so each partial sum 1 + 2^-8 is a tie that rounds to even (1)
        // and a per-step rounding gives 1; one rounding of the fp32 sum 1 + 2^-7 gives 1 + 2^-7 exactly.
        float[] values = {1f, 0x1p-8f, 0x1p-8f};
        List<short[]> out = LOCAL.launch(3, GENEROUS, c -> {
            short[] b = {Bf16.toBits(values[c.rank()])};
            c.allReduceBf16(b, ReduceOp.SUM);
            return b;
        });
        for (short[] b : out) assertThat(Bf16.fromBits(b[0])).isEqualTo(1f + 0x1p-7f);
    }

    @Test
    void broadcastMeanMaxAndLongGather() {
        List<float[]> out = LOCAL.launch(2, GENEROUS, c -> {
            float[] b = {c.rank() + 1f, 10f * (c.rank() + 1)};
            c.broadcast(b, 1);
            float[] m = {c.rank() + 1f};
            c.allReduce(m, ReduceOp.MEAN);
            float[] mx = {c.rank() * 5f};
            c.allReduce(mx, ReduceOp.MAX);
            long[] ids = new long[2];
            c.allGatherLongs(new long[]{c.rank() * 7L}, ids);
            c.barrier();
            return new float[]{b[0], b[1], m[0], mx[0], ids[0], ids[1]};
        });
        for (float[] b : out) assertThat(b).containsExactly(2f, 20f, 1.5f, 5f, 0f, 7f);
    }

    @Test
    void trafficCountsRingBytes() {
        List<Collective.Traffic> out = LOCAL.launch(2, GENEROUS, c -> {
            c.allReduce(new float[100], ReduceOp.SUM);          // 2·(1/2)·400 = 400
            c.allGather(new float[50], new float[100]);          // (1/2)·400 = 200
            return c.traffic();
        });
        assertThat(out.get(0).bytes()).isEqualTo(600);
        assertThat(out.get(0).calls()).isEqualTo(2);
    }

    @Test
    void mismatchedCollectivesFailOnEveryRank() {
        assertThatThrownBy(() -> LOCAL.launch(2, GENEROUS, c -> {
            if (c.rank() == 0) c.allReduce(new float[4], ReduceOp.SUM);
            else c.allReduce(new float[5], ReduceOp.SUM);
            return null;
        })).isInstanceOf(CollectiveException.class).hasMessageContaining("mismatch")
                .hasMessageContaining("F32 4").hasMessageContaining("F32 5");
    }

    @Test
    void deadRankMakesTheOthersFailPromptly() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> LOCAL.launch(3, GENEROUS, c -> {
            if (c.rank() == 2) throw new IllegalStateException("rank 2 crashed");
            c.allReduce(new float[3], ReduceOp.SUM);
            return null;
        })).isInstanceOf(IllegalStateException.class).hasMessage("rank 2 crashed");
        // The survivors are woken by the broken barrier, not by the 60 s timeout.
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(GENEROUS.dividedBy(2));
    }

    @Test
    void hungRankMakesTheOthersTimeOutNamingIt() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> LOCAL.launch(2, SHORT, c -> {
            if (c.rank() == 1) {
                try {
                    Thread.sleep(60_000);                        // hangs (interrupted by the launcher)
                } catch (InterruptedException e) {
                    return null;
                }
            }
            c.allReduce(new float[3], ReduceOp.SUM);
            return null;
        })).isInstanceOf(CollectiveException.class).hasMessageContaining("timed out after 500 ms")
                .hasMessageContaining("have not reached it: [1]");
        // Bounded: the timeout plus the launcher's grace of two timeouts (1.5 s), far below the 60 s hang.
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void unknownEngineListsTheKnownOnes() {
        assertThatThrownBy(() -> Collectives.get("gloo")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown collective engine 'gloo'").hasMessageContaining("local");
    }
}
