package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static moonlight4j.verify.CrossBackendSupport.CPU;
import static moonlight4j.verify.CrossBackendSupport.ND4J;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Mismatched shapes, dtypes and indices are rejected by {@code nd4j} with exactly the oracle's message. */
class CrossBackendMessagesTest {

    /** Each bad call, run against one backend with tensors made by that backend. */
    private static Map<String, Consumer<Backend>> badCalls() {
        Map<String, Consumer<Backend>> m = new LinkedHashMap<>();
        m.put("matmul inner", be -> be.matmul(be.zeros(DType.F32, 2, 3), be.zeros(DType.F32, 4, 5), false, false));
        m.put("matmul dtype", be -> be.matmul(be.zeros(DType.F32, 2, 3), be.zeros(DType.BF16, 3, 5), false, false));
        m.put("matmul batch", be -> be.matmul(be.zeros(DType.F32, 2, 2, 3), be.zeros(DType.F32, 3, 3, 5), false, false));
        m.put("matmul rank", be -> be.matmul(be.zeros(DType.F32, 3), be.zeros(DType.F32, 3, 5), false, false));
        m.put("add broadcast", be -> be.add(be.zeros(DType.F32, 2, 3), be.zeros(DType.F32, 4)));
        m.put("add dtype", be -> be.add(be.zeros(DType.F32, 2, 3), be.zeros(DType.F64, 2, 3)));
        m.put("add integer", be -> be.add(be.zeros(DType.I64, 2, 3), be.zeros(DType.I64, 2, 3)));
        m.put("exp integer", be -> be.exp(be.zeros(DType.I32, 2)));
        m.put("lerp shape", be -> be.lerp(be.zeros(DType.F32, 2, 3), be.zeros(DType.F32, 3, 2), 0.3));
        m.put("sum axis", be -> be.sum(be.zeros(DType.F32, 2, 3), 2));
        m.put("rmsNorm weight", be -> be.rmsNorm(be.zeros(DType.F32, 2, 3), be.zeros(DType.F32, 4), 1e-5));
        m.put("rope odd", be -> be.rope(be.zeros(DType.F32, 1, 1, 2, 3), be.zeros(DType.I64, 1, 2), 1e4));
        m.put("rope positions", be -> be.rope(be.zeros(DType.F32, 1, 1, 2, 4), be.zeros(DType.I64, 1, 3), 1e4));
        m.put("embedding id", be -> be.embedding(be.zeros(DType.F32, 4, 2), be.fromLongs(new long[]{1, 4}, 2)));
        m.put("embedding ids dtype", be -> be.embedding(be.zeros(DType.F32, 4, 2), be.zeros(DType.F32, 2)));
        m.put("embeddingBackward", be -> be.embeddingBackward(be.zeros(DType.F32, 3, 2), be.zeros(DType.I64, 2), 5));
        m.put("topk k", be -> be.topk(be.zeros(DType.F32, 2, 3), 4));
        m.put("gatherRows id", be -> be.gatherRows(be.zeros(DType.F32, 4, 2), be.fromLongs(new long[]{-1}, 1)));
        m.put("indexAdd shape", be -> be.indexAddInPlace(be.zeros(DType.F32, 4, 2), be.zeros(DType.I64, 3),
                be.zeros(DType.F32, 2, 2)));
        m.put("gatherLastDim id", be -> be.gatherLastDim(be.zeros(DType.F32, 2, 3), be.fromLongs(new long[]{0, 3}, 2, 1)));
        m.put("scatterAddLastDim", be -> be.scatterAddLastDim(be.zeros(DType.F32, 2, 3), be.zeros(DType.I64, 2, 2), 5));
        m.put("crossEntropy target", be -> be.crossEntropySum(be.zeros(DType.F32, 2, 3),
                be.fromLongs(new long[]{0, 3}, 2), -100));
        m.put("crossEntropy shape", be -> be.crossEntropyBackward(be.zeros(DType.F32, 2, 3), be.zeros(DType.I64, 3), -100, 1));
        m.put("reshape", be -> be.reshape(be.zeros(DType.F32, 2, 3), 4, -1));
        m.put("permute", be -> be.permute(be.zeros(DType.F32, 2, 3), 0, 0));
        m.put("slice", be -> be.slice(be.zeros(DType.F32, 2, 3), 1, 2, 5));
        m.put("concat", be -> be.concat(0, be.zeros(DType.F32, 2, 3), be.zeros(DType.F32, 2, 4)));
        m.put("cast to integer", be -> be.cast(be.zeros(DType.F32, 2), DType.I64));
        m.put("fromFloats length", be -> be.fromFloats(new float[5], 2, 3));
        m.put("axpy shape", be -> be.axpyInPlace(be.zeros(DType.F32, 2, 3), 1, be.zeros(DType.F32, 3, 2)));
        m.put("copyInto integer", be -> be.copyInto(be.zeros(DType.F32, 2), be.zeros(DType.I64, 2)));
        m.put("item", be -> be.item(be.zeros(DType.F32, 2)));
        m.put("toBf16Bits", be -> be.toBf16Bits(be.zeros(DType.F32, 2)));
        return m;
    }

    @Test
    void badArgumentsGiveTheOraclesMessage() {
        List<String> checked = new ArrayList<>();
        badCalls().forEach((name, call) -> {
            Throwable o = catchThrowable(() -> call.accept(CPU)), n = catchThrowable(() -> call.accept(ND4J));
            assertThat(o).as(name + " on cpu").isInstanceOf(IllegalArgumentException.class);
            assertThat(n).as(name + " on nd4j").isInstanceOf(IllegalArgumentException.class).hasMessage(o.getMessage());
            checked.add(name + ": " + o.getMessage());
        });
        assertThat(checked).hasSize(badCalls().size());
    }

    /** A tensor of one backend handed to the other is rejected, naming the backend, not silently copied. */
    @Test
    void foreignTensorsAreRejected() {
        Tensor t = CPU.zeros(DType.F32, 2, 2);
        assertThat(catchThrowable(() -> ND4J.exp(t))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("exp").hasMessageContaining("cpu");
    }
}
