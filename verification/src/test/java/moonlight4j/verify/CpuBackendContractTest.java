package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;

/** The contract suite run on the {@code cpu} oracle, with 2 GEMM threads (results do not depend on the count). */
class CpuBackendContractTest extends BackendContractTest {

    private static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void closeBackend() {
        CPU.close();
    }

    @Override
    protected Backend backend() {
        return CPU;
    }
}
