package moonlight4j.api;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend's count of live tensors ({@link Backend#liveTensors}): created and neither closed nor garbage-collected.
 * A tensor registers at creation and is released once, by {@link Tensor#close} or, if never closed, when the
 * collector finds it unreachable (Java's {@link Cleaner}), so the count measures what a leak would be: tensors still
 * referenced and never closed.
 */
public final class LiveTensors {

    private static final Cleaner CLEANER = Cleaner.create();

    private final AtomicLong live = new AtomicLong();

    /** Counts {@code tensor}; closing it must call {@link Cleaner.Cleanable#clean} on the result (idempotent). */
    public Cleaner.Cleanable track(Object tensor) {
        live.incrementAndGet();
        AtomicLong count = live;                                  // the action must not reach the tensor itself
        return CLEANER.register(tensor, count::decrementAndGet);
    }

    public long get() {
        return live.get();
    }
}
