package moonlight4j.dist;

import moonlight4j.api.Collective;
import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.RankThreads;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * {@code --dist local}: N ranks as threads of this JVM ({@code --ranks N}). When a rank's body throws, the group is
 * broken so the others' next collective fails at once; a rank that hangs makes the others time out; the threads
 * and the failure handling after that are {@link RankThreads}'.
 */
public final class LocalCollectiveProvider implements CollectiveProvider {

    @Override
    public String name() {
        return "local";
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public <T> List<T> launch(int ranks, Duration timeout, Function<Collective, T> body) {
        LocalGroup group = new LocalGroup(ranks, timeout);
        return RankThreads.run("rank", ranks, timeout, rank -> {
            try (Collective c = new LocalCollective(group, rank)) {
                return body.apply(c);
            } catch (Throwable e) {
                group.fail(rank, e);
                throw e;
            }
        });
    }
}
