package moonlight4j.cpu;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** {@link Workers#runAll}: every task once, whatever the thread count; a failing task fails the job only after every running task has ended. */
class WorkersTest {

    @Test
    void everyTaskRunsExactlyOnceWhateverTheThreadCount() {
        for (int threads = 1; threads <= 3; threads++) {
            try (Workers w = new Workers(threads)) {
                for (int tasks : new int[]{0, 1, 2, 5, 64, 1000}) {
                    AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(tasks, 1));
                    w.runAll(tasks, runs::incrementAndGet);
                    for (int t = 0; t < tasks; t++) {
                        assertThat(runs.get(t)).as("threads %d, tasks %d, task %d", threads, tasks, t).isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void aFailingTaskFailsTheJobOnlyAfterTheRunningTasksHaveEnded() {
        try (Workers w = new Workers(2)) {
            for (int failing : new int[]{0, 1, 37, 99}) {
                AtomicInteger running = new AtomicInteger(), maxRunningAfter = new AtomicInteger();
                Throwable thrown = catchThrowable(() -> w.runAll(100, t -> {
                    running.incrementAndGet();
                    try {
                        if (t == failing) throw new IllegalArgumentException("task " + t + " failed on purpose");
                        Thread.onSpinWait();
                    } finally {
                        running.decrementAndGet();
                    }
                }));
                maxRunningAfter.set(running.get());
                assertThat(thrown).as("task %d fails", failing).isNotNull();
                Throwable cause = thrown instanceof IllegalArgumentException ? thrown : thrown.getCause();
                assertThat(cause).isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("task " + failing + " failed on purpose");
                assertThat(maxRunningAfter.get()).as("tasks still running when runAll returned").isZero();
            }
        }
    }

    @Test
    void jobsFromSeveralCallersAtOnceEachRunEveryTaskOnce() throws Exception {
        try (Workers w = new Workers(2)) {
            int callers = 4, jobs = 200, tasks = 50;
            AtomicIntegerArray runs = new AtomicIntegerArray(callers * tasks);
            Thread[] threads = new Thread[callers];
            AtomicInteger failures = new AtomicInteger();
            for (int c = 0; c < callers; c++) {
                int caller = c;
                threads[c] = new Thread(() -> {
                    try {
                        for (int j = 0; j < jobs; j++) w.runAll(tasks, t -> runs.incrementAndGet(caller * tasks + t));
                    } catch (RuntimeException | Error e) {
                        failures.incrementAndGet();
                    }
                });
                threads[c].start();
            }
            for (Thread t : threads) t.join(60_000);
            assertThat(failures.get()).isZero();
            for (int i = 0; i < callers * tasks; i++) assertThat(runs.get(i)).as("caller %d task %d", i / tasks, i % tasks).isEqualTo(jobs);
        }
    }

    @Test
    void closeEndsTheWorkerThreads() throws Exception {
        Set<Thread> before = workerThreads();
        Workers w = new Workers(3);
        w.runAll(10, t -> { });
        Set<Thread> mine = workerThreads();
        mine.removeAll(before);
        assertThat(mine).hasSize(2);
        w.close();
        for (Thread t : mine) t.join(10_000);
        assertThat(mine).noneMatch(Thread::isAlive);
    }

    private static Set<Thread> workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("moonlight-cpu-worker") && t.isAlive())
                .collect(Collectors.toCollection(HashSet::new));
    }
}
