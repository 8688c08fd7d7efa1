package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;

import java.util.Map;

/**
 * Runs our implementation on the inputs of one golden case of its {@link #kind()} and returns our outputs keyed
 * by the golden names ({@code out.*}, {@code state.*}). The {@link Verifier} compares them and closes them.
 */
public interface CaseRunner {

    /** The {@code kind} metadata value this runner handles. */
    String kind();

    Map<String, Tensor> run(GoldenCase c, Backend be) throws Exception;
}
