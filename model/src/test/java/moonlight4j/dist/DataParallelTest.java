package moonlight4j.dist;

import moonlight4j.api.CollectiveProvider;
import moonlight4j.api.Collectives;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DataParallelTest {

    private static final CollectiveProvider LOCAL = Collectives.get("local");
    private static final Duration T = Duration.ofSeconds(10);

    @Test
    void sameConfigPasses() {
        assertThat(LOCAL.launch(3, T, c -> {
            DataParallel.checkSameConfig(c, "preset=tiny seed=1 data=arith");
            return c.rank();
        })).containsExactly(0, 1, 2);
    }

    @Test
    void differentConfigFailsOnEveryRankNamingTheRank() {
        assertThatThrownBy(() -> LOCAL.launch(3, T, c -> {
            DataParallel.checkSameConfig(c, c.rank() == 2 ? "preset=tiny seed=2" : "preset=tiny seed=1");
            return null;
        })).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ranks [2] were started with a different config");
    }

    @Test
    void shardsCoverTheGlobalBatchOnce() {
        List<int[]> s = LOCAL.launch(3, T, c -> DataParallel.shard(c, 6));
        assertThat(s).containsExactly(new int[]{0, 2}, new int[]{2, 4}, new int[]{4, 6});
    }

    @Test
    void worldSizeNotDividingTheBatchIsAnError() {
        assertThatThrownBy(() -> LOCAL.launch(2, T, c -> DataParallel.shard(c, 7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("global batch of 7 sequences is not divisible by the world size 2");
    }

    @Test
    void globalCountAndLoadAreSums() {
        List<float[]> out = LOCAL.launch(3, T, c -> {
            long count = DataParallel.globalCount(c, 10L * (c.rank() + 1));
            float[] load = {c.rank(), 1};
            DataParallel.allReduceSum(c, load);
            return new float[]{count, load[0], load[1]};
        });
        for (float[] v : out) assertThat(v).containsExactly(60f, 3f, 3f);
    }
}
