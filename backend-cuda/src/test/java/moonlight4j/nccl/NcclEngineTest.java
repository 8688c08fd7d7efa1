package moonlight4j.nccl;

import moonlight4j.api.Bf16;
import moonlight4j.api.Collective;
import moonlight4j.api.Collective.ReduceOp;
import moonlight4j.api.CollectiveException;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.Collectives;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The {@code nccl} engine. Everywhere: it is registered, says quickly and in one line why it cannot run, and
 * {@code --dist nccl} then fails with that reason. On a GPU machine: every collective against values computed here
 * with N = min(2, devices) ranks (bit-exact: for 2 ranks x₀ + x₁ has one order), and with 2 GPUs the failure paths
 * (a skipped collective times out, a dead rank aborts the others, a mismatch is named).
 */
class NcclEngineTest {

    private static final Duration LONG = Duration.ofSeconds(60);
    private static boolean printed;               // "not run" / "1 GPU" said once per run, not once per test

    private static CollectiveProvider nccl() {
        return Collectives.providers().stream().filter(p -> p.name().equals("nccl")).findFirst().orElseThrow();
    }

    /** The number of ranks for the GPU tests, min(2, devices); prints "not run: reason" and aborts without a GPU. */
    private static int ranksOrSkip() {
        String why = nccl().unavailableReason();
        if (why != null) {
            synchronized (NcclEngineTest.class) {
                if (!printed) System.out.println("not run: " + why);
                printed = true;
            }
            Assumptions.abort("no GPU for the nccl engine: " + why);
        }
        int n = Math.min(2, NcclNatives.deviceCount());
        synchronized (NcclEngineTest.class) {
            if (printed) return n;
            printed = true;
        }
        System.out.println("nccl: " + NcclNatives.deviceCount() + " CUDA device(s), the GPU tests use " + n + " rank(s)");
        if (n == 1) {
            System.out.println("nccl: 1 CUDA device, so only the 1-rank plumbing (staging copies, in-place NCCL calls,"
                    + " waits) is exercised; the cross-GPU reductions and the failure paths need 2 GPUs");
        }
        return n;
    }

    /** The contribution of rank r: random floats, different per rank. */
    private static float[] data(int rank, int len) {
        Random rnd = new Random(1000 + rank);
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** Rank r's bf16 test input: odd elements random, even ones 1 (rank 0) or 2^-8 (others): sums hit ties. */
    private static float[] ties(int rank, int len) {
        float[] x = data(rank, len);
        for (int i = 0; i < len; i += 2) x[i] = rank == 0 ? 1f : 0x1p-8f;
        return x;
    }

    private static short[] bf16(float[] x) {
        short[] b = new short[x.length];
        Bf16.roundInto(x, b);
        return b;
    }

    @Test
    void providerIsRegisteredAndExplainsInOneLineWhyItCannotRun() {
        CollectiveProvider p = nccl();
        // A hang guard, not a speed test: a probe that blocked on a missing driver would hang every CLI command.
        String why = assertTimeoutPreemptively(Duration.ofSeconds(30), p::unavailableReason);
        assertThat(p.unavailableReason()).isEqualTo(why);                        // answered once, then remembered
        if (why == null) {
            assertThat(Collectives.get("nccl").name()).isEqualTo("nccl");
            assertThat(NcclNatives.deviceCount()).isPositive();
            return;
        }
        System.out.println("nccl unavailable here: " + why);
        assertThat(why).doesNotContain("\n").satisfiesAnyOf(
                w -> assertThat(w).startsWith(NcclNatives.NEEDS),
                w -> assertThat(w).contains("CUDA device"));
        assertThatThrownBy(() -> Collectives.get("nccl")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--dist nccl cannot run here").hasMessageContaining(why);
        assertThatThrownBy(() -> p.launch(1, LONG, c -> null)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(why);
        assertThat(NcclNatives.deviceCount()).isZero();
    }

    @Test
    void bf16RoundingIsNearestEvenOnTies() {
        assertThat(Bf16.toBits(1f + 0x1p-8f)).isEqualTo(Bf16.toBits(1f));                 // tie → even (1)
        assertThat(Bf16.fromBits(Bf16.toBits(1f + 3 * 0x1p-8f))).isEqualTo(1f + 0x1p-6f); // tie → even (up)
        assertThat(Bf16.fromBits(Bf16.toBits(1f + 0x1p-8f + 0x1p-20f))).isEqualTo(1f + 0x1p-7f);
        assertThat(Float.isNaN(Bf16.fromBits(Bf16.toBits(Float.intBitsToFloat(0x7F800001))))).isTrue();
        assertThat(Bf16.fromBits(Bf16.toBits(-2.5f))).isEqualTo(-2.5f);                    // exact stays
    }

    @Test
    void everyCollectiveMatchesTheHost() {
        int n = ranksOrSkip();
        int len = 1000, chunk = 37;
        List<Collective> out = nccl().launch(n, LONG, c -> {
            int r = c.rank();
            float[] sum = data(r, len), mean = data(r, len), max = data(r, len);
            c.allReduce(sum, ReduceOp.SUM);
            c.allReduce(mean, ReduceOp.MEAN);
            c.allReduce(max, ReduceOp.MAX);
            float[] expSum = new float[len], expMax = new float[len];
            for (int i = 0; i < len; i++) expMax[i] = Float.NEGATIVE_INFINITY;
            for (int q = 0; q < n; q++) {
                float[] x = data(q, len);
                for (int i = 0; i < len; i++) {
                    expSum[i] += x[i];                               // 0 + x₀ = x₀ exactly, then x₀ + x₁
                    expMax[i] = Math.max(expMax[i], x[i]);
                }
            }
            float[] expMean = expSum.clone();
            for (int i = 0; i < len; i++) expMean[i] /= n;
            assertThat(sum).as("SUM on rank %d", r).containsExactly(expSum);
            assertThat(mean).as("MEAN on rank %d", r).containsExactly(expMean);
            assertThat(max).as("MAX on rank %d", r).containsExactly(expMax);

            // BF16: widen, fp32 sum (then / N for MEAN), one RNE rounding; even elements make the tie 1 + 2^-8.
            for (ReduceOp op : new ReduceOp[]{ReduceOp.SUM, ReduceOp.MEAN}) {
                short[] b = bf16(ties(r, len));
                c.allReduceBf16(b, op);
                float[] acc = new float[len];
                for (int q = 0; q < n; q++) {
                    short[] bq = bf16(ties(q, len));
                    for (int i = 0; i < len; i++) acc[i] += Bf16.fromBits(bq[i]);
                }
                if (op == ReduceOp.MEAN) for (int i = 0; i < len; i++) acc[i] /= n;
                assertThat(b).as("BF16 %s on rank %d", op, r).containsExactly(bf16(acc));
            }

            // reduce-scatter: rank r gets chunk r of the sum
            float[] part = new float[chunk];
            c.reduceScatter(data(r, n * chunk), part, ReduceOp.SUM);
            short[] partB = new short[chunk];
            c.reduceScatterBf16(bf16(data(r, n * chunk)), partB, ReduceOp.SUM);
            float[] expPart = new float[chunk], expPartB = new float[chunk];
            for (int q = 0; q < n; q++) {
                float[] x = data(q, n * chunk);
                short[] xb = bf16(x);
                for (int i = 0; i < chunk; i++) {
                    expPart[i] += x[r * chunk + i];
                    expPartB[i] += Bf16.fromBits(xb[r * chunk + i]);
                }
            }
            assertThat(part).containsExactly(expPart);
            assertThat(partB).containsExactly(bf16(expPartB));

            // all-gathers move bits: NaN payloads, -0, subnormals, extreme longs come back unchanged
            float[] mine = {r + 0.5f, -0f, Float.intBitsToFloat(0x7FC00123 + r), Float.MIN_VALUE};
            float[] all = new float[n * mine.length];
            c.allGather(mine, all);
            short[] mineB = {(short) (0x7F81 + r), (short) 0x8000, (short) 0x0001, (short) (0x3F80 + r)};
            short[] allB = new short[n * mineB.length];
            c.allGatherBf16(mineB, allB);
            long[] ids = new long[2 * n];
            c.allGatherLongs(new long[]{Long.MIN_VALUE + r, -1L - r}, ids);
            for (int q = 0; q < n; q++) {
                float[] theirs = {q + 0.5f, -0f, Float.intBitsToFloat(0x7FC00123 + q), Float.MIN_VALUE};
                for (int i = 0; i < theirs.length; i++) {
                    assertThat(Float.floatToRawIntBits(all[q * theirs.length + i]))
                            .isEqualTo(Float.floatToRawIntBits(theirs[i]));
                }
                assertThat(allB[q * 4]).isEqualTo((short) (0x7F81 + q));
                assertThat(allB[q * 4 + 3]).isEqualTo((short) (0x3F80 + q));
                assertThat(ids[2 * q]).isEqualTo(Long.MIN_VALUE + q);
                assertThat(ids[2 * q + 1]).isEqualTo(-1L - q);
            }

            float[] b = {r + 1f, 10f * (r + 1)};
            c.broadcast(b, n - 1);
            assertThat(b).containsExactly(n, 10f * n);
            c.allReduce(new float[0], ReduceOp.SUM);                 // nothing to move, still a collective
            c.barrier();

            float[] big = data(r, 100_000);                           // buffers grow, then are reused smaller
            c.allReduce(big, ReduceOp.MAX);
            float[] small = {r};
            c.allReduce(small, ReduceOp.SUM);
            assertThat(small[0]).isEqualTo(n * (n - 1) / 2f);

            Collective.Traffic t = c.traffic();
            long f = n - 1;                                           // ring counts: (N−1)/N of each payload
            long expected = 2 * f * 4 * len * 3 / n + 2 * f * 2 * len * 2 / n      // 3 F32 + 2 BF16 all-reduces
                    + f * 4 * n * chunk / n + f * 2 * n * chunk / n                // reduce-scatters
                    + f * 4 * all.length / n + f * 2 * allB.length / n + f * 8 * ids.length / n
                    + (r == n - 1 && n > 1 ? 4 * 2 : 0)                            // broadcast at the root
                    + 2 * f * 4 * 100_000 / n + 2 * f * 4 / n;
            assertThat(t.calls()).isEqualTo(15);
            assertThat(t.bytes()).isEqualTo(expected);
            return c;
        });
        assertThat(out).hasSize(n);
        for (int r = 0; r < n; r++) assertThat(out.get(r).rank()).isEqualTo(r);
        assertThatThrownBy(() -> out.get(0).barrier()).isInstanceOf(CollectiveException.class)
                .hasMessageContaining("nccl rank 0: barrier on a closed collective");
    }

    @Test
    void moreRanksThanGpusIsRejectedNamingBoth() {
        ranksOrSkip();
        int devices = NcclNatives.deviceCount();
        assertThatThrownBy(() -> nccl().launch(devices + 1, LONG, c -> null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(devices + " CUDA device(s)").hasMessageContaining("got " + (devices + 1));
        assertThatThrownBy(() -> nccl().launch(0, LONG, c -> null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("got 0");
    }

    private static void assumeTwoGpus() {
        Assumptions.assumeTrue(ranksOrSkip() >= 2, "the failure paths need 2 GPUs (one rank per GPU)");
    }

    @Test
    void aSkippedCollectiveTimesOutOnTheWaitingRank() {
        assumeTwoGpus();
        Duration timeout = Duration.ofSeconds(2);
        long[] waited = new long[1];
        CountDownLatch rank0Done = new CountDownLatch(1);
        assertThatThrownBy(() -> nccl().launch(2, timeout, c -> {
            if (c.rank() == 1) {                                     // rank 1 skips the collective, then leaves
                try {                                                // after rank 0 gave up (no destroy mid-call)
                    rank0Done.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }
            long t0 = System.nanoTime();
            try {
                c.allReduce(new float[3], ReduceOp.SUM);
            } finally {
                waited[0] = System.nanoTime() - t0;
                rank0Done.countDown();
            }
            return null;
        })).isInstanceOf(CollectiveException.class).hasMessageContaining("nccl rank 0")
                .hasMessageContaining("allReduce(F32 3, SUM)").hasMessageContaining("timed out after 2 s");
        // Slack: the poll sleeps ≤ 0.2 ms; 3 s covers ncclCommAbort returning on a busy machine.
        assertThat(waited[0] / 1e9).isBetween(2.0, 5.0);
    }

    @Test
    void aDeadRankMakesTheOthersFailPromptly() {
        assumeTwoGpus();
        long[] waited = new long[1];
        assertThatThrownBy(() -> nccl().launch(2, LONG, c -> {
            if (c.rank() == 1) throw new IllegalStateException("rank 1 crashed");
            long t0 = System.nanoTime();
            try {
                c.allReduce(new float[3], ReduceOp.SUM);
            } finally {
                waited[0] = System.nanoTime() - t0;
            }
            return null;
        })).isInstanceOf(IllegalStateException.class).hasMessage("rank 1 crashed");
        assertThat(waited[0] / 1e9).isLessThan(10.0);                // far below the 60 s timeout
    }

    @Test
    void mismatchedCollectivesAreNamed() {
        assumeTwoGpus();
        assertThatThrownBy(() -> nccl().launch(2, LONG, c -> {
            c.allReduce(new float[c.rank() == 0 ? 4 : 5], ReduceOp.SUM);
            return null;
        })).isInstanceOf(CollectiveException.class).hasMessageContaining("mismatch")
                .hasMessageContaining("F32 4").hasMessageContaining("F32 5");
    }
}
