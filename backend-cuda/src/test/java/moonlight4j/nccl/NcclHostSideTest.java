package moonlight4j.nccl;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The host-side pieces of the {@code nccl} engine that need no GPU: the mismatch log and the error texts. */
class NcclHostSideTest {

    @Test
    void theSecondOfTwoMismatchedRanksNamesBothCalls() {
        CallLog log = new CallLog(3);
        assertThat(log.record(0, 1, "allReduce(F32 4, SUM)")).isNull();
        assertThat(log.record(1, 1, "allReduce(F32 4, SUM)")).isNull();
        assertThat(log.record(2, 1, "allReduce(F32 5, SUM)"))
                .isEqualTo("nccl rank 2: collective #1 mismatch: rank 0 called allReduce(F32 4, SUM) but rank 2 called"
                        + " allReduce(F32 5, SUM)");
    }

    @Test
    void ranksAtDifferentSeqsAreNotCompared() {
        CallLog log = new CallLog(2);
        for (long seq = 1; seq <= 3 * CallLog.HISTORY; seq++) {
            assertThat(log.record(0, seq, "barrier")).isNull();           // rank 0 runs far ahead
        }
        // rank 1's call #1 shares a slot with rank 0's #(1 + 2·HISTORY): a different seq, so no false alarm
        assertThat(log.record(1, 1, "broadcast(F32 3, root 0)")).isNull();
        assertThat(log.record(1, 2 * CallLog.HISTORY + 1, "barrier")).isNull();     // same seq, same call
        assertThat(log.record(1, 3 * CallLog.HISTORY, "allGather(F32 1)")).contains("mismatch")
                .contains("rank 0 called barrier");
    }

    @Test
    void javacppFailuresAreReportedByTheirRootCauseOnOneLine() {
        UnsatisfiedLinkError inner = new UnsatisfiedLinkError("/root/.javacpp/cache/cuda-11.6-8.3-1.5.7-linux-x86_64.jar"
                + "/org/bytedeco/cuda/linux-x86_64/libjnicudart.so: libcudart.so.11.0: cannot open shared object file");
        UnsatisfiedLinkError outer = new UnsatisfiedLinkError("no jnicudart in java.library.path: /usr/lib:/lib");
        outer.initCause(inner);
        assertThat(NcclNatives.oneLine(outer)).isEqualTo("java.lang.UnsatisfiedLinkError: libjnicudart.so:"
                + " libcudart.so.11.0: cannot open shared object file");
        assertThat(NcclNatives.oneLine(new UnsatisfiedLinkError("no jnicudart in java.library.path: /a:/b\nmore")))
                .isEqualTo("java.lang.UnsatisfiedLinkError: no jnicudart in java.library.path more");
    }

    @Test
    void timeoutsAreWrittenInSeconds() {
        assertThat(NcclRank.seconds(Duration.ofSeconds(300))).isEqualTo("300 s");
        assertThat(NcclRank.seconds(Duration.ofMillis(500))).isEqualTo("0.5 s");
    }
}
