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

    /**
     * Checks {@code <prefix>topk_idx} / {@code <prefix>topk_weight}; where the weight tolerance has a gap-ratio check,
     * the pairs sorted by expert id (ours by our ids) join its pool.
     */
    static List<TensorCheck> check(GoldenCase c, String prefix, Tensor idx, Tensor weight, Backend be,
                                   ToleranceTable tol, GapRatio gaps) {
        String idxName = prefix + "topk_idx", wName = prefix + "topk_weight";
        Tolerance wTol = tol.forTensor(wName, false);
        Tolerance iTol = Tolerance.exact("exact (integer), per-row set");
        int[] shape = c.info(idxName).shape();
        if (idx == null || weight == null) {
            String missing = idx == null ? idxName : wName;
            if (wTol.hasGapCheck()) gaps.problem(wTol, missing + ": missing");
            return List.of(TensorCheck.problem(missing, idx == null ? iTol : wTol, "missing: the runner did not produce it"));
        }
        if (!Arrays.equals(idx.shape(), shape) || !Arrays.equals(weight.shape(), shape) || shape.length < 1) {
            if (wTol.hasGapCheck()) gaps.problem(wTol, wName + ": shape");
            return List.of(TensorCheck.problem(idxName, iTol, "shapes " + TensorCheck.shapeStr(idx.shape()) + " / "
                    + TensorCheck.shapeStr(weight.shape()) + ", golden " + TensorCheck.shapeStr(shape)));
        }
        int k = shape[shape.length - 1];
        double[] gi = c.doubles(idxName), gw = c.doubles(wName);
        double[] oi = be.toDoubles(idx), ow = be.toDoubles(weight);
        sortRows(gi, gw, k);
        sortRows(oi, ow, k);
        if (wTol.hasGapCheck()) Verifier.addGap(c, wName, wTol, ow, gw, false, gaps);
        return List.of(TensorCheck.compare(idxName, iTol, oi, gi, -1),
                TensorCheck.compare(wName, wTol, ow, gw, -1));
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
