package moonlight4j.verify;

import java.util.List;

/** The one list of golden-case runners: adding a kind is one line here. */
public final class Runners {

    private Runners() {
    }

    /** Runners for safetensors cases, one per kind. */
    public static List<CaseRunner> all() {
        return List.of(
                new NewtonSchulzRunner(),
                new MuonAdjustLrRunner(),
                new MuonStepRunner(),
                new MoeGateRunner(),
                new MoeLayerRunner(),
                new MlaAttentionRunner(),
                new ModelForwardRunner(),
                new ModelForwardBf16Runner(),
                new GenerateGreedyRunner(),
                new ModelGradsRunner(),
                new MuonTrainRunner()
        );
    }

    /** Runners for JSON Lines cases. */
    public static List<LinesCaseRunner> lines() {
        return List.of(
                new TokenizerRunner()
        );
    }
}
