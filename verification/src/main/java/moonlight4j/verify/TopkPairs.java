package moonlight4j.verify;

import moonlight4j.api.Tensor;
import moonlight4j.api.Backend;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * {@code out.topk_idx} / {@code out.topk_weight} of {@code torch.topk(..., sorted=False)}: the slot order inside a row
 * is implementation-defined, so each row is compared as a set of (expert, weight) pairs (golden-data/FORMAT.md §3.4):
 * both sides sorted by expert id, then ids exactly and weights within the {@code out.topk_weight} tolerance.
 */
final class TopkPairs {

    private TopkPairs() {
    }

    static List<TensorCheck> check(GoldenCase c, Tensor idx, Tensor weight, Backend be, ToleranceTable tol) {
        Tolerance wTol = tol.forTensor("out.topk_weight", false);
        Tolerance iTol = Tolerance.exact("exact (integer), per-row set");
        int[] shape = c.info("out.topk_idx").shape();
        if (idx == null || weight == null) {
            String missing = idx == null ? "out.topk_idx" : "out.topk_weight";
            return List.of(TensorCheck.problem(missing, idx == null ? iTol : wTol, "missing: the runner did not produce it"));
        }
        if (!Arrays.equals(idx.shape(), shape) || !Arrays.equals(weight.shape(), shape) || shape.length < 1) {
            return List.of(TensorCheck.problem("out.topk_idx", iTol, "shapes " + TensorCheck.shapeStr(idx.shape()) + " / "
                    + TensorCheck.shapeStr(weight.shape()) + ", golden " + TensorCheck.shapeStr(shape)));
        }
        int k = shape[shape.length - 1];
        double[] gi = c.doubles("out.topk_idx"), gw = c.doubles("out.topk_weight");
        double[] oi = be.toDoubles(idx), ow = be.toDoubles(weight);
        sortRows(gi, gw, k);
        sortRows(oi, ow, k);
        return List.of(TensorCheck.compare("out.topk_idx", iTol, oi, gi, -1),
                TensorCheck.compare("out.topk_weight", wTol, ow, gw, -1));
    }

    /** Sorts each row's (id, weight) pairs by id, in place. */
    private static void sortRows(double[] ids, double[] w, int k) {
        for (int r = 0; r + k <= ids.length; r += k) {
            final int base = r;
            Integer[] order = IntStream.range(0, k).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(j -> ids[base + j]));
            double[] si = new double[k], sw = new double[k];
            for (int j = 0; j < k; j++) {
                si[j] = ids[base + order[j]];
                sw[j] = w[base + order[j]];
            }
            System.arraycopy(si, 0, ids, base, k);
            System.arraycopy(sw, 0, w, base, k);
        }
    }
}
