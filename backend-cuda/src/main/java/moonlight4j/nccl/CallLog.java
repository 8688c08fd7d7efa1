package moonlight4j.nccl;

/**
 * The last {@link #HISTORY} collective signatures (op name and sizes) of every rank of one group. NCCL itself does
 * not check that ranks call the same collective with the same size (a mismatch hangs or reads garbage), so each
 * rank records {@code (seq, signature)} here before it enqueues and compares with the other ranks' record for the
 * same seq; whichever of two mismatched ranks records second gets the mismatch, with both calls named, as the
 * {@code local} engine reports it. Best effort: a rank more than {@link #HISTORY} calls ahead of another (possible
 * only for a root that finishes broadcasts before the receivers start) is not compared.
 */
final class CallLog {

    static final int HISTORY = 64;

    private final long[][] seqs;                 // [rank][seq % HISTORY]
    private final String[][] ops;

    CallLog(int n) {
        this.seqs = new long[n][HISTORY];
        this.ops = new String[n][HISTORY];
    }

    /**
     * Records that {@code rank} enters collective number {@code seq} (from 1) as {@code op}; returns null, or the
     * mismatch message when another rank recorded a different call for that seq.
     */
    synchronized String record(int rank, long seq, String op) {
        int slot = (int) (seq % HISTORY);
        seqs[rank][slot] = seq;
        ops[rank][slot] = op;
        for (int r = 0; r < seqs.length; r++) {
            if (r != rank && seqs[r][slot] == seq && !ops[r][slot].equals(op)) {
                return "nccl rank " + rank + ": collective #" + seq + " mismatch: rank " + r + " called "
                        + ops[r][slot] + " but rank " + rank + " called " + op;
            }
        }
        return null;
    }
}
