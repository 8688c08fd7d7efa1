package moonlight4j.verify;

import moonlight4j.api.Backends;
import moonlight4j.model.MlaDecoding;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The golden {@code generate_greedy} case through both cached decoding modes (the standard runner uses RECOMPUTE). */
class GenerateGreedyGoldenTest {

    private static final Path CASE = Path.of("..", "golden-data", "generate_greedy__moonlight_tiny.safetensors");

    @Test
    void bothCacheModesReproduceTheReleaseTokensAndLogits() {
        for (MlaDecoding mode : MlaDecoding.values()) {
            Verifier v = new Verifier(List.of(new GenerateGreedyRunner(mode)), List.of());
            CaseResult r = v.verify(CASE, Backends.get("cpu"), k -> true).orElseThrow();
            assertThat(r.status()).as(mode + ": " + r.notes()).isEqualTo(CaseResult.Status.PASS);
        }
    }
}
