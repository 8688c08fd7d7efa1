package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Root of the backend contract suite ({@link BackendContractTest}): the backend under test and input helpers.
 * Uses only the SPI.
 */
abstract class ContractTestBase {

    /** The backend under test. */
    protected abstract Backend backend();

    @BeforeAll
    static void resetMeasuredMargins() {
        synchronized (ContractFixtures.WORST) {
            ContractFixtures.WORST.clear();
        }
    }

    @AfterAll
    static void printMeasuredMargins() {
        System.out.print(ContractFixtures.report());
    }

    /** Skips a dtype the backend does not list in {@link Backend#dtypes()}. */
    void assumeSupported(DType dt) {
        assumeTrue(backend().dtypes().contains(dt), () -> backend().name() + " does not support " + dt);
    }

    /** A fresh generator per test so that each test's inputs do not depend on the order tests run in. */
    static Random rng(String test, DType dt) {
        return new Random(test.hashCode() * 31L + dt.ordinal());
    }

    Tensor t(DType dt, double[] v, int... shape) {
        return ContractFixtures.tensor(backend(), dt, v, shape);
    }

    double[] vals(Tensor t) {
        return backend().toDoubles(t);
    }

    static double[] abs(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Math.abs(v[i]);
        return r;
    }

    /** Gaussian values of dtype bounded away from zero: sign·(0.5 + |g|). */
    static double[] awayFromZero(Random r, DType dt, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian();
            v[i] = ContractFixtures.round(dt, Math.copySign(0.5 + Math.abs(g), g));
        }
        return v;
    }

    static int numel(int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }
}
