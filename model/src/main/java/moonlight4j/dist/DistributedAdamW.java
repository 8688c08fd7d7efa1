package moonlight4j.dist;

import moonlight4j.api.Backend;
import moonlight4j.api.Collective;
import moonlight4j.api.Tensor;
import moonlight4j.dist.FlatLayout.Param;
import moonlight4j.dist.FlatLayout.Piece;
import moonlight4j.optim.AdamW;
import moonlight4j.optim.AdamStep;
import moonlight4j.optim.MuonRule;

import java.util.Set;

/**
 * Distributed AdamW, standard ZeRO-1 (the baseline of docs/muon.md#distributed-muon): the torch AdamW rule of
 * {@link AdamW#update} on this rank's partition of every parameter, moments only for that partition. Per step and rank
 * it sends {@code (N−1)/N·(4P + 4P)} bytes (fp32 reduce-scatter + all-gather) and keeps {@code 2·4P/N} bytes of state.
 */
public final class DistributedAdamW extends Zero1Optimizer {

    private final AdamW.Options opt;

    public DistributedAdamW(Backend be, AdamW.Options options, Collective comm) {
        super(be, comm);
        this.opt = options;
    }

    @Override
    void updatePartition(Partition part) {
        int r = comm.rank(), s = layout.partitionSize;
        for (Param p : layout.params) {
            Piece piece = layout.piece(p, r);
            if (piece == null || !part.present()[p.index()]) continue;       // grad None everywhere: skipped
            int at = piece.partitionOffset(s);
            long t = steps.merge(p.name(), 1L, Long::sum);
            try (Tensor g = HostTensors.of(be, part.dtype(), part.grad(), at, piece.len());
                 Tensor pt = HostTensors.of(be, part.dtype(), part.local(), at, piece.len())) {
                AdamStep st = AdamW.update(be, pt, g, slot(p, AdamW.MOMENT1, part.dtype(), piece.len()),
                        slot(p, AdamW.MOMENT2, part.dtype(), piece.len()), t, part.lr(), opt);
                HostTensors.read(be, pt, part.local(), at);
                part.rmsShare()[p.index()] = (float) (st.stepSize() * st.stepSize() * st.directionSumSquares());
            }
        }
    }

    @Override
    Set<String> slotNames() {
        return Set.of(AdamW.MOMENT1, AdamW.MOMENT2);
    }

    @Override
    boolean rmsFromSquares(Param p) {
        return true;
    }

    @Override
    public String toString() {
        return "DistributedAdamW(ZeRO-1 over " + comm.engine() + " × " + comm.worldSize() + ", rank " + comm.rank() + ")";
    }
}
