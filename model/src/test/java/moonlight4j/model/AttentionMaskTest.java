package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AttentionMaskTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void causalMaskIsZeroOnAndBelowTheDiagonalAndFinfoMinAbove() {
        float[] m = BE.toFloats(AttentionMask.causal(BE, DType.F32, 3, null));
        float min = -Float.MAX_VALUE;                                        // torch.finfo(torch.float32).min
        assertThat(m).containsExactly(0, min, min, 0, 0, min, 0, 0, 0);
        float[] b = BE.toFloats(AttentionMask.causal(BE, DType.BF16, 2, null));
        assertThat(b[1]).isEqualTo(-3.3895313892515355e38f);                 // torch.finfo(torch.bfloat16).min
        assertThat(Float.isInfinite(b[1])).isFalse();
    }

    @Test
    void anExtraMaskIsAddedAndClampedAtFinfoMin() {
        float min = -Float.MAX_VALUE;
        // row-batch 0 masks key 0 for query 1; row-batch 1 is the causal mask itself (as the golden cases pass it)
        Tensor extra = BE.fromFloats(new float[]{0, 0, min, 0, /* batch 1 */ 0, min, 0, 0}, 2, 1, 2, 2);
        float[] m = BE.toFloats(AttentionMask.causal(BE, DType.F32, 2, extra));
        assertThat(m).containsExactly(0, min, min, 0, 0, min, 0, 0);   // min + min stays min, never −∞
        assertThatThrownBy(() -> AttentionMask.causal(BE, DType.F32, 3, extra)).hasMessageContaining("(B, 1, 3, 3)");
    }
}
