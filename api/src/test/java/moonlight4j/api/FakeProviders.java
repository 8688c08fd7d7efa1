package moonlight4j.api;

/** Test-only providers: one that runs (priority 1), one that never can (priority 99). */
final class FakeProviders {

    private FakeProviders() {
    }

    /** Available; its create() returns null because the lookup tests only check which provider was chosen. */
    public static final class Runs implements BackendProvider {
        static int created;

        @Override public String name() { return "fake-runs"; }
        @Override public int priority() { return 1; }
        @Override public String unavailableReason() { return null; }
        @Override public Backend create() { created++; return null; }
    }

    /** Outranks {@link Runs} but cannot load, so it must be skipped by the default rule. */
    public static final class Broken implements BackendProvider {
        @Override public String name() { return "fake-broken"; }
        @Override public int priority() { return 99; }
        @Override public String unavailableReason() { return "native library libfake.so not found"; }
        @Override public Backend create() { throw new AssertionError("must not be created"); }
    }
}
