package moonlight4j.verify;

import moonlight4j.api.Backend;
import moonlight4j.api.Tensor;
import moonlight4j.optim.AdjustLr;

import java.util.Map;

/** {@code muon_adjust_lr} (golden-data/FORMAT.md §3.2): {@code out.adjusted_lr[i, j] = lr_i · 0.2 · √max(A_j, B_j)}, in doubles. */
final class MuonAdjustLrRunner implements CaseRunner {

    @Override
    public String kind() {
        return "muon_adjust_lr";
    }

    @Override
    public Map<String, Tensor> run(GoldenCase c, Backend be) {
        double[] lrs = c.doubles("in.lr");                 // (n_lr)
        long[] shapes = c.longs("in.shape");               // (n_shape, 2)
        int nShape = shapes.length / 2;
        double[] adjusted = new double[lrs.length * nShape];
        for (int i = 0; i < lrs.length; i++) {
            for (int j = 0; j < nShape; j++) {
                adjusted[i * nShape + j] = AdjustLr.MATCH_RMS_ADAMW.adjust(lrs[i],
                        Math.toIntExact(shapes[2 * j]), Math.toIntExact(shapes[2 * j + 1]));
            }
        }
        return Map.of("out.adjusted_lr", be.fromDoubles(adjusted, lrs.length, nShape));
    }
}
