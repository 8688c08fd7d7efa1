package moonlight4j.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.function.Supplier;

/**
 * The one lifetime rule for tensors in layer, loss and optimizer code: <b>code that computes never closes what it
 * computes; whoever drives it opens a scope</b>.
 *
 * <p>Every tensor a backend creates while a scope is open on the calling thread belongs to the innermost open scope
 * and is closed when that scope closes. So a training step reads like the equations (no {@code close()} woven into
 * the math) and leaves nothing behind on any backend:
 * <pre>{@code
 * try (TensorScope step = TensorScope.open()) {
 *     Tensor logits = model.forward(ids);          // every intermediate, the saved activations included,
 *     ...                                          // belongs to `step`
 * }                                                // and is freed here, off-heap and device memory at once
 * }</pre>
 * What must outlive the scope is said explicitly: {@link #keep} hands a tensor to the enclosing scope (or to the
 * caller when there is none), and {@link #outside} creates long-lived state — parameters, optimizer moments, cached
 * RoPE tables, a generation cache — with no scope in force. Closing a tensor early (a large temporary inside a loop)
 * stays allowed: closing twice is harmless.
 *
 * <p>Scopes nest per thread and must be closed in reverse order of opening (try-with-resources does that). A scope
 * is confined to the thread that opened it; the ranks of {@code --dist local} are threads, each with its own scopes.
 */
public final class TensorScope implements AutoCloseable {

    private static final ThreadLocal<TensorScope> CURRENT = new ThreadLocal<>();

    private final TensorScope parent;
    private final Thread owner = Thread.currentThread();
    // Held weakly: a tensor nothing references any more is left to the garbage collector (and the backend's own
    // release of its memory) as soon as it is garbage, so a scope never makes a temporary live longer; what is still
    // referenced when the scope closes is closed then. Tensors compare by identity (none overrides equals).
    private final Set<Tensor> owned = Collections.newSetFromMap(new WeakHashMap<>());
    private boolean closed;

    private TensorScope(TensorScope parent) {
        this.parent = parent;
    }

    /** Opens a scope on this thread, nested in the current one if any. */
    public static TensorScope open() {
        TensorScope s = new TensorScope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /**
     * Called by a backend for every tensor it creates: the tensor joins the innermost scope open on this thread
     * (none: the caller owns it). Returns {@code t}.
     */
    public static <T extends Tensor> T track(T t) {
        TensorScope s = CURRENT.get();
        if (s != null) s.owned.add(t);
        return t;
    }

    /**
     * Runs {@code body} with no scope in force on this thread, so what it creates is not freed by any scope: for
     * state that lives across steps (optimizer moments, caches). The scopes in force before are restored after.
     */
    public static <T> T outside(Supplier<T> body) {
        TensorScope saved = CURRENT.get();
        CURRENT.remove();
        try {
            return body.get();
        } finally {
            if (saved != null) CURRENT.set(saved);
        }
    }

    /**
     * {@code t}, a result computed in the current scope, outlives every scope: the caller owns it (a value computed
     * with temporaries that the scope frees, then kept, such as a merged LoRA weight). No scope open: unchanged.
     */
    public static <T extends Tensor> T detach(T t) {
        TensorScope s = CURRENT.get();
        if (s != null) s.owned.remove(t);
        return t;
    }

    /**
     * {@code t} outlives this scope: it moves to the enclosing scope, or, with none, to the caller, who closes it.
     * A tensor this scope does not own (a parameter, state made {@link #outside}) is returned unchanged.
     */
    public <T extends Tensor> T keep(T t) {
        checkOpen("keep");
        if (owned.remove(t) && parent != null) parent.owned.add(t);
        return t;
    }

    /** How many tensors this scope would close now (those still referenced somewhere). */
    public int size() {
        return owned.size();
    }

    /** Closes every tensor this scope owns and makes the enclosing scope current again. */
    @Override
    public void close() {
        if (closed) return;
        checkOpen("close");
        if (CURRENT.get() != this) {
            throw new IllegalStateException("TensorScope closed out of order: an inner scope is still open");
        }
        closed = true;
        CURRENT.set(parent);
        if (parent == null) CURRENT.remove();
        List<RuntimeException> failures = new ArrayList<>();
        for (Tensor t : new ArrayList<>(owned)) {
            try {
                t.close();
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        owned.clear();
        if (!failures.isEmpty()) {
            IllegalStateException e = new IllegalStateException("TensorScope: " + failures.size()
                    + " tensor(s) failed to close");
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    private void checkOpen(String what) {
        if (closed) throw new IllegalStateException("TensorScope." + what + ": the scope is closed");
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("TensorScope." + what + ": the scope belongs to thread " + owner.getName()
                    + ", not " + Thread.currentThread().getName());
        }
    }
}
