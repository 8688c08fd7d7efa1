package moonlight4j.data;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArithmeticCorpusTest {

    @Test
    void trainingHoldsEverySingleDigitSumAndNoHeldOutFact() {
        List<ArithmeticCorpus.Fact> train = ArithmeticCorpus.trainFacts(1);
        Set<String> t = new HashSet<>();
        for (ArithmeticCorpus.Fact f : train) t.add(f.text());
        for (int a = 0; a < 10; a++) for (int b = 0; b < 10; b++) assertThat(t).contains(a + "+" + b + "=" + (a + b));
        List<ArithmeticCorpus.Fact> held = ArithmeticCorpus.heldOutFacts();
        assertThat(held).isNotEmpty();
        for (ArithmeticCorpus.Fact f : held) {
            assertThat(t).doesNotContain(f.text());
            assertThat(f.a() >= 10 || f.b() >= 10).isTrue();
        }
        // every two-digit pair is in exactly one split: 10,000 − 100 = 9,900
        Set<String> twoDigit = new HashSet<>();
        for (ArithmeticCorpus.Fact f : train) if (f.a() >= 10 || f.b() >= 10) twoDigit.add(f.text());
        assertThat(twoDigit.size() + held.size()).isEqualTo(9900);
        assertThat(held.size()).isBetween(700, 1300);                  // ≈ 1 in 10
    }

    @Test
    void corpusIsDeterministicAndSeedOnlyShuffles() {
        assertThat(ArithmeticCorpus.text(ArithmeticCorpus.trainFacts(3)))
                .isEqualTo(ArithmeticCorpus.text(ArithmeticCorpus.trainFacts(3)));
        assertThat(ArithmeticCorpus.trainFacts(3)).containsExactlyInAnyOrderElementsOf(ArithmeticCorpus.trainFacts(4));
        assertThat(ArithmeticCorpus.text(List.of(new ArithmeticCorpus.Fact(1, 1), new ArithmeticCorpus.Fact(1, 2))))
                .isEqualTo("1+1=2, 1+2=3, ");
    }

    @Test
    void packingDropsTheRemainderAndSamplerResumesExactly() {
        TokenDataset d = new TokenDataset("x", ByteTokens.encode("abcdefghij"), 3);
        assertThat(d.size()).isEqualTo(3);
        assertThat(ByteTokens.decode(d.chunk(2))).isEqualTo("ghi");
        assertThatThrownBy(() -> new TokenDataset("tiny", ByteTokens.encode("ab"), 3)).hasMessageContaining("tiny");
        BatchSampler a = new BatchSampler(10, 3, 5);
        for (int i = 0; i < 4; i++) a.next();                          // crosses into epoch 1
        BatchSampler b = new BatchSampler(10, 3, 5);
        b.seek(a.epoch(), a.position());
        for (int i = 0; i < 7; i++) assertThat(b.next()).containsExactly(a.next());
        assertThatThrownBy(() -> new BatchSampler(2, 3, 5)).hasMessageContaining("larger than the dataset");
    }
}
