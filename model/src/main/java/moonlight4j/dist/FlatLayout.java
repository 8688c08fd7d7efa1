package moonlight4j.dist;

import moonlight4j.api.Shapes;
import moonlight4j.api.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The old Megatron ZeRO-1 layout that Distributed Muon relies on (docs/muon.md#distributed-muon; the authors describe
 * it in Megatron-LM PR #1428): all parameters concatenated in a fixed order (the params map's insertion order) into one
 * flat buffer of T elements, padded to {@code N·S} with {@code S = ⌈T/N⌉} and split into N equal partitions; rank r
 * owns flat elements {@code [r·S, (r+1)·S)}. A parameter lies inside one partition or spans several; only spanning
 * matrices need the DP gather for NS.
 */
final class FlatLayout {

    /** Parameter {@code index} at flat offset {@code offset}, {@code numel} elements. */
    record Param(int index, String name, int[] shape, int offset, int numel) {
        int end() {
            return offset + numel;
        }
    }

    /** Elements {@code [from, from+len)} of parameter {@code param} (its row-major flattening). */
    record Piece(Param param, int from, int len) {
        /** Position of the piece in its owner's partition. */
        int partitionOffset(int partitionSize) {
            return (param.offset() + from) % partitionSize;
        }
    }

    final List<Param> params;
    final int worldSize;
    final long total;
    final int partitionSize;

    FlatLayout(Map<String, Tensor> params, int worldSize) {
        List<Param> list = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            int numel = Math.toIntExact(e.getValue().numel());
            list.add(new Param(list.size(), e.getKey(), e.getValue().shape().clone(), Math.toIntExact(offset), numel));
            offset += numel;
        }
        if (offset > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the flat parameter buffer has " + offset + " elements; this layout keeps"
                    + " offsets in int (at most " + Integer.MAX_VALUE + ")");
        }
        this.params = List.copyOf(list);
        this.worldSize = worldSize;
        this.total = offset;
        this.partitionSize = (int) ((offset + worldSize - 1) / worldSize);
    }

    /** The first and last rank whose partition holds elements of {@code p} (an empty param: its offset's rank). */
    int firstRank(Param p) {
        return Math.min(worldSize - 1, p.offset() / Math.max(1, partitionSize));
    }

    int lastRank(Param p) {
        return p.numel() == 0 ? firstRank(p) : (p.end() - 1) / partitionSize;
    }

    /** True when {@code p} has elements in more than one partition. */
    boolean spans(Param p) {
        return lastRank(p) > firstRank(p);
    }

    /** The piece of {@code p} in rank {@code r}'s partition, or null when it has none. */
    Piece piece(Param p, int r) {
        long lo = Math.max(p.offset(), (long) r * partitionSize);
        long hi = Math.min(p.end(), (long) (r + 1) * partitionSize);
        return hi > lo ? new Piece(p, (int) (lo - p.offset()), (int) (hi - lo)) : null;
    }

    /** The parameter names and shapes in order, one per line (hashed across ranks at the first step). */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (Param p : params) sb.append(p.name()).append(' ').append(Shapes.str(p.shape())).append('\n');
        return sb.toString();
    }

    /** Checks that {@code params} still has this layout's names and shapes in the same order. */
    void check(Map<String, Tensor> current) {
        int i = 0;
        for (Map.Entry<String, Tensor> e : current.entrySet()) {
            Param p = i < params.size() ? params.get(i) : null;
            if (p == null || !p.name().equals(e.getKey()) || !Arrays.equals(p.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("parameter #" + i + " is '" + e.getKey() + "' "
                        + Shapes.str(e.getValue().shape()) + " but the ZeRO-1 layout was built with "
                        + (p == null ? "no such parameter" : "'" + p.name() + "' " + Shapes.str(p.shape()))
                        + "; the parameter set and order must not change between steps");
            }
            i++;
        }
        if (i != params.size()) {
            throw new IllegalArgumentException("got " + i + " parameters, the ZeRO-1 layout has " + params.size());
        }
    }
}
