package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.data.TokenDataset;
import moonlight4j.generate.GenerationConfig;
import moonlight4j.generate.Generator;
import moonlight4j.model.MlaDecoding;
import moonlight4j.model.MoonlightModel;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;
import moonlight4j.train.ArithmeticExperiment;
import moonlight4j.train.TrainOptions;
import moonlight4j.train.Trainer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lifetime rule ({@link TensorScope}) holds on every backend: a training step frees every tensor it created —
 * activations saved for backward, gradients, temporaries — and leaves exactly what it found, plus the optimizer's
 * state (made at a parameter's first update). Garbage tensors leave the count when collected, so each check first
 * lets the collector run.
 */
class TensorLifetimeTest {

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "nd4j"})
    void aScopeFreesWhatItCreated(String name) {
        Backend be = Backends.get(name);
        long before = steady(be);
        Tensor kept;
        try (TensorScope s = TensorScope.open()) {
            Tensor a = be.fromFloats(new float[]{1, 2, 3, 4}, 2, 2);
            Tensor b = be.matmul(a, a, false, true);
            kept = s.keep(be.add(a, b));
        }
        assertThat(settled(be, 0, before + 1)).as("only the kept tensor lives").isLessThanOrEqualTo(before + 1);
        assertThat(be.toFloats(kept)).as("the kept tensor is open").hasSize(4);
        kept.close();
        assertThat(settled(be, 0, before)).isLessThanOrEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "nd4j"})
    void aTrainingStepLeavesNoTensorBehind(String name) {
        for (String optimizer : new String[]{"muon", "adamw"}) {
            Backend be = Backends.get(name);
            MoonlightConfig cfg = ArithmeticExperiment.config();
            TokenDataset data = ArithmeticExperiment.trainSet(1234, 16);
            TrainOptions opt = new TrainOptions(optimizer, 5e-3, 0.1, 4, 4, 1, 1, 0, 1e-3, 1234, 0);
            Parameters params = ArithmeticExperiment.init(be, cfg, 1234);
            try (Trainer t = new Trainer(be, cfg, params, data, opt)) {
                long live = steady(be);
                for (int i = 0; i < 4; i++) {
                    t.step();
                    // an expert's optimizer state appears at the first step that routes a token to it
                    assertThat(settled(be, t.optimizerStateTensors(), live))
                            .as(name + " " + optimizer + ": live tensors besides the optimizer state after step " + (i + 1))
                            .isLessThanOrEqualTo(live);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "nd4j"})
    void decodingWithTheCacheLeavesNoTensorBehind(String name) {
        Backend be = Backends.get(name);
        MoonlightConfig cfg = ArithmeticExperiment.config();
        Parameters params = ArithmeticExperiment.init(be, cfg, 1234);
        MoonlightModel model = new MoonlightModel(be, cfg, params);
        long[][] prompts = {{49, 43, 49, 61}, {50, 43}};                       // "1+1=", "2+" (padded left)
        for (MlaDecoding mode : MlaDecoding.values()) {
            long live = steady(be);
            new Generator(model, mode).generate(prompts, GenerationConfig.greedy(6), false, null);
            assertThat(settled(be, 0, live)).as(name + " " + mode + ": live tensors after generating").isLessThanOrEqualTo(live);
        }
    }

    /**
     * Live tensors besides {@code besides}, once the collector has released the garbage ones: unreachable tensors
     * leave the count when collected (LiveTensors), so this asks for collections until the count is down to
     * {@code expected} or 20 s pass (below it when garbage counted in the baseline went meanwhile). A tensor left
     * behind — still referenced, never closed — never leaves it.
     */
    private static long settled(Backend be, long besides, long expected) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long n = be.liveTensors() - besides;
        while (n > expected && System.nanoTime() < deadline) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            n = be.liveTensors() - besides;
        }
        return n;
    }

    /** The live count once collections no longer lower it (garbage of earlier tests released): the baseline. */
    private static long steady(Backend be) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long prev, n = be.liveTensors();
        do {
            prev = n;
            for (int i = 0; i < 3; i++) {
                System.gc();
                try {
                    Thread.sleep(30);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return n;
                }
            }
            n = be.liveTensors();
        } while (n != prev && System.nanoTime() < deadline);
        return n;
    }
}
