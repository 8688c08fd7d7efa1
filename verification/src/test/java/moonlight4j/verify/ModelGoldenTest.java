package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Every model-kind golden case (FORMAT §3.4–3.7, §3.10) passes on the oracle backend. */
class ModelGoldenTest {

    private static final Set<String> KINDS = Set.of("moe_gate", "moe_layer", "mla_attention", "model_forward",
            "generate_greedy");

    @Test
    void modelKindsPassOnCpu() throws Exception {
        Path dir = Path.of("..", "golden-data");
        assertThat(Files.isDirectory(dir)).as("golden-data next to verification/").isTrue();
        Backend be = Backends.get("cpu");
        Verifier v = Verifier.standard();
        List<String> ran = new ArrayList<>(), failed = new ArrayList<>();
        for (Path f : Verifier.caseFiles(dir)) {
            Optional<CaseResult> r = v.verify(f, be, KINDS::contains);
            if (r.isEmpty()) continue;
            ran.add(r.get().name());
            if (r.get().status() != CaseResult.Status.PASS) failed.add(r.get().name() + ": " + r.get().notes());
        }
        assertThat(failed).isEmpty();
        assertThat(ran).hasSize(9);   // 2 moe_gate, 2 moe_layer, 2 mla_attention, 2 model_forward, 1 generate_greedy
    }
}
