package moonlight4j.optim;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.Arrays;
import java.util.Map;

/** Argument checks shared by the optimizers' {@code step}. */
final class StepChecks {

    private StepChecks() {
    }

    /** Every gradient names a parameter and has its shape. */
    static void check(Map<String, Tensor> params, Map<String, Tensor> grads) {
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            Tensor p = params.get(e.getKey());
            if (p == null) {
                throw new IllegalArgumentException("gradient given for '" + e.getKey() + "', which is not a parameter");
            }
            if (!Arrays.equals(p.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("gradient of '" + e.getKey() + "' has shape "
                        + Shapes.str(e.getValue().shape()) + ", expected the parameter's " + Shapes.str(p.shape()));
            }
        }
    }
}
