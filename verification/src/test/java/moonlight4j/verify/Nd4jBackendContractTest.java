package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;

/** The contract suite run on the {@code nd4j} backend (ND4J natives must load here; they do on linux-x86_64). */
class Nd4jBackendContractTest extends BackendContractTest {

    private static final Backend ND4J = Backends.get("nd4j");

    @Override
    protected Backend backend() {
        return ND4J;
    }
}
