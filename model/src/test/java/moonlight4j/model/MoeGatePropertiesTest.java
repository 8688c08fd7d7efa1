package moonlight4j.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Random;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Routing properties of {@link MoeGate} (docs/model.md#router). The reference values are computed from the backend's
 * own sigmoid scores {@code s = σ(x·Wᵀ)} (the same ops, so the same bits), so the selection checks are exact; examples
 * whose k-th and (k+1)-th choice scores are closer than {@link #GAP} are skipped as near-ties.
 */
class MoeGatePropertiesTest {

    private static final Backend BE = Backends.get("cpu");
    private static final double RSF = 2.446;
    /** Near-tie margin below which the choice is not asserted (the golden cases use ≥ 1e-3, golden-data/FORMAT.md §3). */
    private static final double GAP = 1e-6;
    private static final int C = 16, N = 6;

    private static MoonlightConfig config(int experts, int k, int nGroup, int topkGroup, boolean norm) {
        ObjectNode j = new ObjectMapper().createObjectNode();
        j.put("hidden_size", C).put("n_routed_experts", experts).put("num_experts_per_tok", k)
                .put("n_group", nGroup).put("topk_group", topkGroup).put("norm_topk_prob", norm)
                .put("routed_scaling_factor", RSF);
        return MoonlightConfig.fromJson(j, "test");
    }

    /** One random routing problem: x (N, C), W (E, C), bias (E). */
    private record Problem(float[] x, float[] w, float[] bias, int experts) {
        static Problem random(long seed, int experts, double biasScale) {
            Random r = new Random(seed);
            float[] x = new float[N * C], w = new float[experts * C], b = new float[experts];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int i = 0; i < w.length; i++) w[i] = (float) (0.3 * r.nextGaussian());
            for (int i = 0; i < b.length; i++) b[i] = (float) (biasScale * r.nextGaussian());
            return new Problem(x, w, b, experts);
        }

        Problem withBias(float[] b) {
            return new Problem(x, w, b, experts);
        }

        /** Routing as (idx, weights), flattened (N·k). */
        Object[] route(MoonlightConfig cfg) {
            Parameters p = new Parameters();
            p.put("weight", BE.fromFloats(w, experts, C));
            p.put("e_score_correction_bias", BE.fromFloats(bias, experts));
            MoeGate.Routing r = new MoeGate(BE, p, "", cfg).forward(BE.fromFloats(x, N, C));
            return new Object[]{BE.toLongs(r.topkIdx()), BE.toFloats(r.topkWeight())};
        }

        /** The backend's unbiased scores s (N, E). */
        float[] scores() {
            Tensor logits = BE.matmul(BE.fromFloats(x, N, C), BE.fromFloats(w, experts, C), false, true);
            return BE.toFloats(BE.sigmoid(logits));
        }

        float[] choice() {
            float[] s = scores();
            for (int t = 0; t < N; t++) for (int e = 0; e < experts; e++) s[t * experts + e] += bias[e];
            return s;
        }
    }

    /** Gap between the k-th and (k+1)-th largest of row t among {@code allowed} experts. */
    private static double gap(float[] c, int t, int experts, int k, boolean[] allowed) {
        float[] row = new float[experts];
        int m = 0;
        for (int e = 0; e < experts; e++) if (allowed == null || allowed[e]) row[m++] = c[t * experts + e];
        float[] sorted = Arrays.copyOf(row, m);
        Arrays.sort(sorted);
        return k < m ? sorted[m - k] - sorted[m - k - 1] : Double.MAX_VALUE;
    }

    /** Row t of a route result as expert → routing weight. */
    private static Map<Long, Float> weightsByExpert(Object[] route, int t, int k) {
        long[] idx = (long[]) route[0];
        float[] w = (float[]) route[1];
        Map<Long, Float> m = new HashMap<>();
        for (int j = 0; j < k; j++) m.put(idx[t * k + j], w[t * k + j]);
        return m;
    }

    private static Set<Long> row(long[] idx, int t, int k) {
        Set<Long> s = new HashSet<>();
        for (int j = 0; j < k; j++) s.add(idx[t * k + j]);
        return s;
    }

    @Test
    void choosesTheTopKOfTheBiasedScoresWithWeightsFromTheUnbiasedOnes() {
        qt().forAll(longs().all(), integers().between(1, 6)).checkAssert((seed, k) -> {
            int e = 16;
            Problem p = Problem.random(seed, e, 0.3);
            float[] c = p.choice(), s = p.scores();
            boolean nearTie = false;
            for (int t = 0; t < N; t++) nearTie |= gap(c, t, e, k, null) < GAP;
            if (nearTie) return;
            Object[] r = p.route(config(e, k, 1, 1, true));
            long[] idx = (long[]) r[0];
            float[] w = (float[]) r[1];
            for (int t = 0; t < N; t++) {
                Set<Long> chosen = row(idx, t, k);
                assertThat(chosen).hasSize(k);
                float minChosen = Float.MAX_VALUE, maxOther = -Float.MAX_VALUE;
                for (int x = 0; x < e; x++) {
                    float v = c[t * e + x];
                    if (chosen.contains((long) x)) minChosen = Math.min(minChosen, v);
                    else maxOther = Math.max(maxOther, v);
                }
                assertThat(minChosen).isGreaterThan(maxOther);          // exactly the top-k of s + bias
                double sum = 0;
                for (int j = 0; j < k; j++) sum += s[t * e + (int) idx[t * k + j]];
                for (int j = 0; j < k; j++) {
                    double want = s[t * e + (int) idx[t * k + j]] / (k > 1 ? sum + 1e-20 : 1) * RSF;
                    // fp32 sum of k ≤ 6 terms, one division, one product: ≤ ~10 ulps; 1e-6 relative is ≈ 8 ulps
                    assertThat((double) w[t * k + j]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * want + 1e-12));
                }
            }
        });
    }

    @Test
    void normalisedWeightsSumToTheRoutedScalingFactor() {
        qt().forAll(longs().all(), integers().between(2, 8)).checkAssert((seed, k) -> {
            Object[] r = Problem.random(seed, 16, 0.3).route(config(16, k, 1, 1, true));
            float[] w = (float[]) r[1];
            for (int t = 0; t < N; t++) {
                double sum = 0;
                for (int j = 0; j < k; j++) sum += w[t * k + j];
                // measured: max |Σw − 2.446| = 5.3e-7 (2.2 ulps) over 2,100 rows, k = 2..8; bound 8 ulps = 1.9e-6
                assertThat(sum).isCloseTo(RSF, org.assertj.core.data.Offset.offset(8.0 * Math.ulp((float) RSF)));
            }
        });
    }

    @Test
    void withoutNormalisationTheWeightsAreScaledScores() {
        Problem p = Problem.random(7, 16, 0.3);
        float[] s = p.scores();
        Object[] r = p.route(config(16, 4, 1, 1, false));
        long[] idx = (long[]) r[0];
        float[] w = (float[]) r[1];
        for (int i = 0; i < w.length; i++) {
            assertThat(w[i]).isEqualTo((float) RSF * s[(i / 4) * 16 + (int) idx[i]]);  // one fp32 product
        }
    }

    @Test
    void withOneGroupAConstantBiasShiftChangesNothing() {
        qt().forAll(longs().all(), integers().between(1, 6), integers().between(-40, 40))
                .checkAssert(MoeGatePropertiesTest::assertShiftInvariant);
    }

    @Test
    void shiftThatTiesTwoChosenExpertsStillChangesNothing() {
        assertShiftInvariant(6616235544837527556L, 5, 32);   // once falsified the slot-order comparison (shift 4.0)
    }

    private static void assertShiftInvariant(long seed, int k, int q) {
        Problem p = Problem.random(seed, 16, 0.3);
        float shift = q / 8f;
        float[] b2 = p.bias().clone();
        for (int i = 0; i < b2.length; i++) b2[i] += shift;
        Problem shifted = p.withBias(b2);
        float[] c1 = p.choice(), c2 = shifted.choice();
        for (int t = 0; t < N; t++) if (gap(c1, t, 16, k, null) < 1e-5 || gap(c2, t, 16, k, null) < 1e-5) return;
        MoonlightConfig cfg = config(16, k, 1, 1, true);
        Object[] a = p.route(cfg), b = shifted.route(cfg);
        for (int t = 0; t < N; t++) {
            assertThat(row((long[]) b[0], t, k)).isEqualTo(row((long[]) a[0], t, k));
            // same experts → same unbiased weights; compared per expert, because the shift can make two chosen
            // experts' choice scores equal in fp32 and so swap their slots
            assertThat(weightsByExpert(b, t, k)).isEqualTo(weightsByExpert(a, t, k));
        }
    }

    @Test
    void withGroupsOnlyExpertsOfTheBestGroupsAreChosen() {
        int e = 16, g = 4, tg = 2, per = e / g;
        qt().forAll(longs().all(), integers().between(1, 8)).checkAssert((seed, k) -> {
            Problem p = Problem.random(seed, e, 0.3);
            // bias ≥ 0 keeps every choice score > 0, so the 0.0 fill of dropped groups never competes
            float[] b = p.bias().clone();
            for (int i = 0; i < b.length; i++) b[i] = Math.abs(b[i]);
            p = p.withBias(b);
            float[] c = p.choice();
            Object[] r = p.route(config(e, k, g, tg, true));
            long[] idx = (long[]) r[0];
            for (int t = 0; t < N; t++) {
                double[] groupScore = new double[g];
                for (int j = 0; j < g; j++) {
                    float[] grp = Arrays.copyOfRange(c, t * e + j * per, t * e + (j + 1) * per);
                    Arrays.sort(grp);
                    groupScore[j] = grp[per - 1] + grp[per - 2];            // sum of the top-2
                }
                double[] sorted = groupScore.clone();
                Arrays.sort(sorted);
                if (sorted[g - tg] - sorted[g - tg - 1] < GAP) continue;    // near-tie between groups
                boolean[] kept = new boolean[e];
                for (int x = 0; x < e; x++) kept[x] = groupScore[x / per] >= sorted[g - tg];
                if (gap(c, t, e, k, kept) < GAP) continue;
                for (long x : row(idx, t, k)) assertThat(kept[(int) x]).as("expert %d of a dropped group", x).isTrue();
            }
        });
    }

    /**
     * Grouped routing against a brute-force reference written from the release's steps, not from {@link MoeGate}:
     * c = s + bias (fp32); group score = the sum of the two largest c of the group; the {@code topk_group} best groups
     * are kept and every expert of another group gets choice score 0.0; the k largest choice scores are chosen; their
     * weights are the unbiased s, divided by their sum (+1e-20) when {@code norm_topk_prob} and k &gt; 1, times
     * {@code routed_scaling_factor}. Over E ∈ {8, 12, 16, 24}, every n_group that divides E into groups of ≥ 2,
     * topk_group ∈ [1, n_group], k ∈ [1, topk_group·E/n_group] and both norm flags, the chosen expert set and each
     * chosen expert's weight must equal the reference's. A router that picks any other k experts of the kept groups
     * (say the lowest ids) fails here, while {@link #withGroupsOnlyExpertsOfTheBestGroupsAreChosen} still passes.
     * Rows with a near-tie (a group or expert choice decided by less than {@link #GAP}) are skipped, and at least
     * half of all rows must be checked.
     */
    @Test
    void groupedRoutingEqualsABruteForceReference() {
        int[] checked = new int[2];                                          // [rows checked, rows seen]
        qt().withExamples(300).forAll(longs().all()).checkAssert(seed -> {
            Random r = new Random(seed);
            int e = new int[]{8, 12, 16, 24}[r.nextInt(4)];
            java.util.List<Integer> groupings = new java.util.ArrayList<>();
            for (int g = 1; g <= e; g++) if (e % g == 0 && (g == 1 || e / g >= 2)) groupings.add(g);
            int g = groupings.get(r.nextInt(groupings.size())), per = e / g;
            int tg = 1 + r.nextInt(g), k = 1 + r.nextInt(Math.min(8, tg * per));
            boolean norm = r.nextBoolean();
            // mostly positive choice scores; now and then shifted below 0 so the 0.0 fill of dropped groups competes
            double shift = r.nextInt(4) == 0 ? -0.6 : 0.0;
            Problem p = Problem.random(seed, e, 0.3);
            float[] b = p.bias().clone();
            for (int i = 0; i < e; i++) b[i] += (float) shift;
            p = p.withBias(b);
            Object[] got = p.route(config(e, k, g, tg, norm));
            float[] s = p.scores();
            for (int t = 0; t < N; t++) {
                checked[1]++;
                Map<Long, Double> want = referenceRouting(s, p.bias(), t, e, g, tg, k, norm);
                if (want == null) continue;                                  // near-tie: the choice is not asserted
                checked[0]++;
                Map<Long, Float> have = weightsByExpert(got, t, k);
                assertThat(have.keySet()).as("E %d, n_group %d, topk_group %d, k %d, token %d", e, g, tg, k, t)
                        .isEqualTo(want.keySet());
                // fp32 sum of k ≤ 8 terms, one division, one product: ≤ ~10 ulps; 1e-6 relative is ≈ 8 ulps
                want.forEach((x, w) -> assertThat((double) have.get(x)).as("weight of expert %d", x)
                        .isCloseTo(w, org.assertj.core.data.Offset.offset(1e-6 * Math.abs(w) + 1e-12)));
            }
        });
        assertThat(checked[0]).as("rows checked of %d", checked[1]).isGreaterThan(checked[1] / 2);
    }

    /**
     * The reference routing of token t as expert → weight (double), or null when a near-tie (&lt; {@link #GAP})
     * decides which groups are kept or which experts are chosen.
     */
    private static Map<Long, Double> referenceRouting(float[] s, float[] bias, int t, int e, int g, int tg, int k,
                                                      boolean norm) {
        int per = e / g;
        float[] c = new float[e];
        for (int x = 0; x < e; x++) c[x] = s[t * e + x] + bias[x];                  // fp32, as the router adds
        boolean[] keptGroup = new boolean[g];
        if (g == 1) {
            keptGroup[0] = true;
        } else {
            float[] groupScore = new float[g];
            for (int j = 0; j < g; j++) {
                float[] grp = Arrays.copyOfRange(c, j * per, (j + 1) * per);
                Arrays.sort(grp);
                groupScore[j] = grp[per - 1] + grp[per - 2];                        // sum of the top-2
            }
            Integer[] order = new Integer[g];
            for (int j = 0; j < g; j++) order[j] = j;
            Arrays.sort(order, (a, bb) -> Float.compare(groupScore[bb], groupScore[a]));
            if (tg < g && groupScore[order[tg - 1]] - groupScore[order[tg]] < GAP) return null;
            for (int j = 0; j < tg; j++) keptGroup[order[j]] = true;
        }
        float[] masked = new float[e];
        for (int x = 0; x < e; x++) masked[x] = keptGroup[x / per] ? c[x] : 0.0f;  // 0.0, not −∞, as the release
        Integer[] order = new Integer[e];
        for (int x = 0; x < e; x++) order[x] = x;
        Arrays.sort(order, (a, bb) -> Float.compare(masked[bb], masked[a]));
        if (k < e && masked[order[k - 1]] - masked[order[k]] < GAP) return null;
        double sum = 0;
        for (int j = 0; j < k; j++) sum += s[t * e + order[j]];
        Map<Long, Double> out = new HashMap<>();
        for (int j = 0; j < k; j++) {
            double w = s[t * e + order[j]];
            if (norm && k > 1) w /= sum + 1e-20;
            out.put((long) order[j], w * RSF);
        }
        return out;
    }

    /**
     * Exact ties in the router's top-k go to the lower expert id here ({@code Backend.topk}). torch.topk leaves the
     * choice among equal values unspecified; on CPU torch 1.13 selects with std::nth_element, so the winners depend
     * on the row length: of 16 equal scores k = 2 took experts 10 and 11, of 64 experts 42 and 43 (observed, not a
     * contract). So the chosen experts can differ from the release's exactly when fp32 choice scores tie at the k-th
     * place: (a) experts whose router rows and biases are equal, e.g. a zero router, where every s = 0.5 and the
     * weights are equal too, so only which tied experts' FFNs run differs; (b) the 0.0 fill of dropped groups once
     * every kept choice score is negative, where the tied experts' unbiased scores, and so the weights, differ.
     * Random fp32 weights (the golden cases, training) make such ties vanishingly rare.
     */
    @Test
    void exactTiesGoToTheLowerExpertIdWhereTorchLeavesTheChoiceOpen() {
        // (a) zero router and bias: 16 equal choice scores per token
        int e = 16, k = 2;
        Problem zero = new Problem(Problem.random(3, e, 0).x(), new float[e * C], new float[e], e);
        Object[] r = zero.route(config(e, k, 1, 1, true));
        for (int t = 0; t < N; t++) {
            assertThat(Arrays.copyOfRange((long[]) r[0], t * k, t * k + k)).containsExactly(0L, 1L);
            // s = 0.5 each: w = 0.5 / (1.0 + 1e-20) · rsf, one fp32 division and one product
            assertThat(Arrays.copyOfRange((float[]) r[1], t * k, t * k + k))
                    .containsExactly((float) RSF * 0.5f, (float) RSF * 0.5f);
        }
        // (b) 4 groups of 2, one kept, every choice score negative: the 6 zero-filled experts tie at 0.0
        int g = 4, per = 2;
        float[] minus2 = new float[8];
        Arrays.fill(minus2, -2f);
        Problem neg = Problem.random(11, 8, 0).withBias(minus2);
        float[] c = neg.choice();
        long[] idx = (long[]) neg.route(config(8, k, g, 1, true))[0];
        for (int t = 0; t < N; t++) {
            int best = 0;
            for (int j = 1; j < g; j++) {
                if (c[t * 8 + j * per] + c[t * 8 + j * per + 1] > c[t * 8 + best * per] + c[t * 8 + best * per + 1]) {
                    best = j;
                }
            }
            long[] lowestOutside = best == 0 ? new long[]{2, 3} : new long[]{0, 1};
            assertThat(Arrays.copyOfRange(idx, t * k, t * k + k)).as("token %d, kept group %d", t, best)
                    .containsExactly(lowestOutside);
        }
    }

    /**
     * The release fills dropped groups with 0.0, not −∞ (docs/model.md#router), so with groups a constant bias shift is
     * not harmless: once every kept choice score is negative, the zero-filled experts of the dropped groups win.
     */
    @Test
    void withGroupsTheZeroFillBreaksShiftInvariance() {
        int e = 8, g = 4, per = 2, k = 2;
        Problem p = Problem.random(11, e, 0.0);                              // bias 0: every choice score in (0, 1)
        MoonlightConfig cfg = config(e, k, g, 1, true);
        long[] before = (long[]) p.route(cfg)[0];
        float[] minus2 = new float[e];
        Arrays.fill(minus2, -2f);                                            // every choice score now in (−2, −1)
        long[] after = (long[]) p.withBias(minus2).route(cfg)[0];
        float[] c = p.choice();
        for (int t = 0; t < N; t++) {
            int best = 0;
            double bestScore = -1;
            for (int j = 0; j < g; j++) {
                double sc = c[t * e + j * per] + c[t * e + j * per + 1];
                if (sc > bestScore) {
                    bestScore = sc;
                    best = j;
                }
            }
            for (long x : row(before, t, k)) assertThat(x / per).isEqualTo(best);   // unshifted: inside the best group
            for (long x : row(after, t, k)) assertThat(x / per).isNotEqualTo(best); // shifted: the 0.0-filled ones win
            assertThat(row(after, t, k)).isNotEqualTo(row(before, t, k));
        }
    }

    @Test
    void permutingExpertsPermutesTheRouting() {
        qt().forAll(longs().all(), integers().between(1, 6)).checkAssert((seed, k) -> {
            int e = 16;
            Problem p = Problem.random(seed, e, 0.3);
            float[] c = p.choice();
            for (int t = 0; t < N; t++) if (gap(c, t, e, k, null) < GAP) return;
            int[] perm = new int[e];                                          // expert x moves to perm[x]
            java.util.List<Integer> l = new java.util.ArrayList<>();
            for (int i = 0; i < e; i++) l.add(i);
            java.util.Collections.shuffle(l, new Random(seed ^ 0x5DEECE66DL));
            for (int i = 0; i < e; i++) perm[i] = l.get(i);
            float[] w2 = new float[p.w().length], b2 = new float[e];
            for (int x = 0; x < e; x++) {
                System.arraycopy(p.w(), x * C, w2, perm[x] * C, C);
                b2[perm[x]] = p.bias()[x];
            }
            MoonlightConfig cfg = config(e, k, 1, 1, true);
            Object[] a = p.route(cfg), b = new Problem(p.x(), w2, b2, e).route(cfg);
            long[] ia = (long[]) a[0], ib = (long[]) b[0];
            float[] wa = (float[]) a[1], wb = (float[]) b[1];
            for (int t = 0; t < N; t++) {
                java.util.Map<Long, Float> ma = new java.util.HashMap<>(), mb = new java.util.HashMap<>();
                for (int j = 0; j < k; j++) {
                    ma.put((long) perm[(int) ia[t * k + j]], wa[t * k + j]);
                    mb.put(ib[t * k + j], wb[t * k + j]);
                }
                assertThat(mb.keySet()).isEqualTo(ma.keySet());
                // same pairs; the weight sum may add the k terms in another slot order: ≤ a few ulps
                for (Long x : ma.keySet()) assertThat(mb.get(x)).isCloseTo(ma.get(x), org.assertj.core.data.Offset.offset(1e-6f));
            }
        });
    }
}
