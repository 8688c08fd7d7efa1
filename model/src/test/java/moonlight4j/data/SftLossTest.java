package moonlight4j.data;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.MoonlightModel;
import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

class SftLossTest {

    private static final Backend BE = Backends.get("cpu");

    @Test
    void theLossAveragesTheNextTokenLossOverAssistantTokensOnly() {
        var j = MoonlightConfig.preset("tiny").toJson();
        j.put("hidden_size", 32).put("intermediate_size", 64).put("moe_intermediate_size", 16)
                .put("num_hidden_layers", 2).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                .put("qk_rope_head_dim", 8).put("v_head_dim", 8).put("vocab_size", 514);
        MoonlightConfig cfg = MoonlightConfig.fromJson(j, "sft loss test");
        MoonlightModel m = new MoonlightModel(BE, cfg, ModelInit.random(cfg, BE, DType.F32, 4));
        var tok = ByteVocabulary.create();
        SftExample x = SftExample.of(List.of(ChatMessage.user("2+2="), ChatMessage.assistant("4")),
                ChatTemplate.moonlight(), tok, "t");
        SftExample y = SftExample.of(List.of(ChatMessage.user("What is 10+3?"), ChatMessage.assistant("13")),
                ChatTemplate.moonlight(), tok, "t");
        SftBatch batch = SftDataset.batches(List.of(x, y), 2, tok.eosId()).get(0);

        // reference: log-softmax in double at every labelled position, from the same logits
        int t = batch.time(), v = cfg.vocabSize();
        float[] logits = BE.toFloats(m.forward(BE.fromLongs(batch.inputIds(), 2, t)));
        double sum = 0;
        int n = 0;
        for (int i = 0; i < 2; i++) {
            for (int p = 1; p < t; p++) {
                long label = batch.labels()[i * t + p];
                if (label == SftExample.IGNORE) continue;
                int row = (i * t + p - 1) * v;
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int k = 0; k < v; k++) max = Math.max(max, logits[row + k]);
                for (int k = 0; k < v; k++) z += Math.exp(logits[row + k] - max);
                sum += -(logits[row + (int) label] - max - Math.log(z));
                n++;
            }
        }
        assertThat(n).isEqualTo(5);   // "4<|im_end|>" and "13<|im_end|>"
        SftLoss.Sum s = SftLoss.sum(m, batch);
        assertThat(s.targets()).isEqualTo(5);
        // fp32 log-softmax per row vs double: measured |Δ| = 7.8e-7 on a sum of 5 terms = 31.3; bound 1e-4
        assertThat(s.loss()).isCloseTo(sum, offset(1e-4));
        assertThat(SftLoss.mean(m, List.of(batch))).isCloseTo(sum / 5, offset(2e-5));

        // d(mean loss)/d logits: (softmax − onehot) / 5 on the 5 predicting rows, zero on every other row
        float[] g = BE.toFloats(SftLoss.logitsGradient(BE, BE.fromFloats(logits, 2, t, v), batch));
        long[] targets = SftLoss.shiftedTargets(batch);
        for (int row = 0; row < 2 * t; row++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < v; k++) max = Math.max(max, logits[row * v + k]);
            for (int k = 0; k < v; k++) z += Math.exp(logits[row * v + k] - max);
            for (int k = 0; k < v; k++) {
                double want = targets[row] == SftExample.IGNORE ? 0
                        : (Math.exp(logits[row * v + k] - max) / z - (k == targets[row] ? 1 : 0)) / 5;
                assertThat((double) g[row * v + k]).isCloseTo(want, offset(1e-7));   // fp32 softmax: measured max 6.1e-9
            }
        }
    }
}
