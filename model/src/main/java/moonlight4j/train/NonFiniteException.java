package moonlight4j.train;

/** A NaN/Inf loss or gradient: names the step and the first offending parameter; training stops. */
public final class NonFiniteException extends RuntimeException {

    private final int step;

    public NonFiniteException(int step, String what) {
        super("step " + step + ": non-finite " + what + " — training stopped (the last good checkpoint, if any, is kept)");
        this.step = step;
    }

    public int step() {
        return step;
    }
}
