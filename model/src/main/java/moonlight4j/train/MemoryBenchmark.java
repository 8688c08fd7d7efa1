package moonlight4j.train;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.data.TokenDataset;
import moonlight4j.model.ModelInit;
import moonlight4j.model.MoonlightConfig;
import moonlight4j.model.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import javax.management.JMException;
import javax.management.ObjectName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench memory}: many Muon training steps of a preset on one backend, printing memory as it goes, then whether
 * it stayed flat. Every sample first runs a full collection and trims the C heap ({@link #trimNativeHeap}), waits
 * until the collector has handed the shrunk heap's pages back ({@link #settledSplit}), then reads:
 * <ul>
 *   <li>resident memory of the process, and the part of it outside the JVM heap: native buffers,
 *       the code cache, thread stacks. The heap's pages are left out because the collector grows the heap toward
 *       {@code -Xmx} as it sees fit (with a 16 GiB limit, by about 1 MiB per tiny step here, with nothing live
 *       behind it), which is not a leak. Both figures come from one read of /proc/self/smaps, the heap's being the
 *       resident pages of its reservation ({@link #residentSplit}); where that is not readable, resident memory
 *       comes from /proc/self/status and the heap's committed size stands in for its pages;</li>
 *   <li>the live heap: what the full collection left in use;</li>
 *   <li>the backend's live tensors.</li>
 * </ul>
 * Memory is flat when, from the end of the settling steps (the JIT, pools and optimizer state fill up then) to the
 * last step, neither the memory outside the heap nor the live heap grows by {@link #FLAT_GROWTH} or more, and the
 * live tensors do not grow at all.
 */
public final class MemoryBenchmark {

    /** Growth after the settling steps that still counts as flat. */
    static final double FLAT_GROWTH = 0.10;

    /**
     * Growth of the live heap below this many bytes counts as flat whatever its share: a small live heap moves by
     * whole MiB between samples of a steady run (nd4j, tiny preset: 17–19 MiB after each full collection).
     */
    static final long HEAP_SLACK = 16L << 20;

    private MemoryBenchmark() {
    }

    /** One reading: resident bytes (−1 when not readable), resident bytes of the heap, live heap bytes, live tensors. */
    record Sample(long resident, long heapResident, long heapLive, long tensors) {

        /** Resident bytes outside the JVM heap, or −1. */
        long outsideHeap() {
            return resident < 0 ? -1 : resident - heapResident;
        }

        static Sample take(Backend be) {
            System.gc();                                   // the live heap, and native buffers held only by garbage
            trimNativeHeap();
            MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            long[] split = settledSplit(Runtime.getRuntime().maxMemory());
            if (split != null) {
                return new Sample(split[0], split[1], heap.getUsed(), be.liveTensors());
            }
            return new Sample(residentBytes(), heap.getCommitted(), heap.getUsed(), be.liveTensors());
        }
    }

    /** Interval between the reads of {@link #settledSplit}. */
    static final long SETTLE_POLL_MS = 250;

    /** Longest wait, per sample, for the collector to finish shrinking the heap. */
    static final long SETTLE_NANOS = 3_000_000_000L;

    /**
     * {@link #residentSplit} once the heap's resident pages have stopped moving: after a full collection G1 shrinks
     * the heap, but hands the pages back to the kernel later, on a thread of its own, and the side tables it keeps
     * per committed heap region (mark bitmap, card table, block offsets: about 2% of the heap, outside its
     * reservation) go with them. Read at once, a sample caught that work at a random point, and the memory outside
     * the heap followed the heap's committed size (cpu, tiny preset: 98 → 173 MiB over 200 steps while the resident
     * heap swung between 0.8 and 2.3 GiB with 29 MiB live). Reads again every {@value #SETTLE_POLL_MS} ms until two
     * reads agree to 1 MiB, for at most {@link #SETTLE_NANOS}; null as {@link #residentSplit}. The interval is longer
     * than the delay before G1 starts handing pages back (100 ms in JDK 17's {@code G1UncommitRegionTask}): with 50
     * ms, two reads taken before it started agreed, and samples still caught a 2 GiB heap.
     */
    static long[] settledSplit(long max) {
        long[] split = residentSplit(max);
        long deadline = System.nanoTime() + SETTLE_NANOS;
        while (split != null && System.nanoTime() < deadline) {
            try {
                Thread.sleep(SETTLE_POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return split;
            }
            long[] next = residentSplit(max);
            if (next == null) return split;
            boolean settled = Math.abs(next[0] - split[0]) < (1 << 20) && Math.abs(next[1] - split[1]) < (1 << 20);
            split = next;
            if (settled) break;
        }
        return split;
    }

    /**
     * Hands the C heap's free memory back to the kernel: glibc keeps freed blocks for reuse (the JIT's arenas, native
     * buffers), which counted as resident memory and grew it by tens of MiB over a run with nothing in use behind it
     * (one trim in an nd4j run gave back 84 MiB). Uses the JVM's {@code System.trim_native_heap} diagnostic command
     * (what {@code jcmd PID System.trim_native_heap} runs); false where the JVM or the C library lacks it.
     */
    static boolean trimNativeHeap() {
        try {
            ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "systemTrimNativeHeap", new Object[]{new String[0]}, new String[]{String[].class.getName()});
            return true;
        } catch (JMException | RuntimeException e) {
            return false;
        }
    }

    /**
     * From one read of /proc/self/smaps: the process's resident bytes (the sum over all mappings) and those of the JVM
     * heap's reservation, the first run of adjacent anonymous mappings (committed and uncommitted parts of the heap
     * are separate mappings; a class-data archive mapped at its top ends the run) whose span is within 1% of
     * {@code max}. Null when smaps is not readable or no such run exists.
     */
    static long[] residentSplit(long max) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        } catch (IOException | SecurityException e) {
            return null;
        }
        long total = 0, heap = -1, runStart = -1, runEnd = -1, runRss = 0;
        boolean anonymous = false;
        for (String line : lines) {
            Matcher m = MAPPING.matcher(line);
            if (m.matches()) {
                if (heap < 0 && spans(runStart, runEnd, max)) heap = runRss;        // the run before this mapping
                long start = Long.parseUnsignedLong(m.group(1), 16), end = Long.parseUnsignedLong(m.group(2), 16);
                anonymous = m.group(3).isBlank();
                if (anonymous && start == runEnd) {
                    runEnd = end;                          // the run goes on
                } else if (anonymous) {
                    runStart = start;
                    runEnd = end;
                    runRss = 0;
                } else {
                    runStart = runEnd = -1;
                }
            } else if (line.startsWith("Rss:")) {
                long kb = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                total += kb;
                if (anonymous && runStart >= 0) runRss += kb;
            }
        }
        if (heap < 0 && spans(runStart, runEnd, max)) heap = runRss;
        return heap < 0 ? null : new long[]{total, heap};
    }

    /** True when the run {@code [start, end)} exists and its span is within 1% of {@code max}. */
    private static boolean spans(long start, long end, long max) {
        return start >= 0 && Math.abs((end - start) - max) <= max / 100;
    }

    /** A mapping's first line in smaps: {@code start-end perms offset dev inode [path]}. */
    private static final Pattern MAPPING = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) \\S+ \\S+ \\S+ \\S+\\s*(.*)$");

    /** Runs {@code steps} steps; returns true when memory stayed flat (see the class comment). */
    public static boolean run(Backend be, String preset, int batch, int seq, int steps, PrintStream out) {
        MoonlightConfig cfg = MoonlightConfig.preset(preset);
        TokenDataset data = TrainBenchmark.randomTokens(cfg, batch, seq);
        TrainOptions opt = new TrainOptions("muon", 1e-3, 0.1, steps, batch, 1, 0, 0, 1e-3, 1, 0);
        int every = Math.max(1, steps / 10), settle = Math.max(1, Math.min(20, steps / 10));
        out.printf(Locale.ROOT, "bench memory %s %dx%d on %s: %d Muon steps; after a full GC and a C-heap trim every %d steps: resident "
                + "memory, the part outside the JVM heap, live heap, live tensors (flat: from "
                + "step %d to the end, outside-heap and live heap grow < %.0f%%, live tensors not at all)%n", preset,
                batch, seq, be.name(), steps, every, settle, 100 * FLAT_GROWTH);
        Parameters params = ModelInit.random(cfg, be, DType.F32, 1);
        Sample first = null, last = null;
        try (Trainer t = new Trainer(be, cfg, params, data, opt)) {
            for (int s = 1; s <= steps; s++) {
                StepReport rep = t.step();
                if (s == settle || s % every == 0 || s == steps) {
                    Sample m = Sample.take(be);
                    out.printf(Locale.ROOT, "step %4d  loss %.4f  %,6.0f ms  resident %,7d MiB  outside heap %,7d MiB  "
                                    + "live heap %,6d MiB  live tensors %,d%n", s, rep.loss(), 1e3 * rep.seconds(),
                            m.resident() >> 20, m.outsideHeap() >> 20, m.heapLive() >> 20, m.tensors());
                    if (s == settle) first = m;
                    last = m;
                }
            }
        } finally {
            params.closeAll();
        }
        boolean heapFlat = last.heapLive() - first.heapLive() < Math.max(HEAP_SLACK, FLAT_GROWTH * first.heapLive());
        boolean tensorsFlat = last.tensors() <= first.tensors();
        String tail = String.format(Locale.ROOT, "live heap %,d → %,d MiB; live tensors %,d → %,d",
                first.heapLive() >> 20, last.heapLive() >> 20, first.tensors(), last.tensors());
        if (first.resident() <= 0) {
            out.println("memory: resident size not readable here (/proc/self/status); " + tail);
            return heapFlat && tensorsFlat;
        }
        double growth = (double) (last.outsideHeap() - first.outsideHeap()) / first.outsideHeap();
        boolean flat = growth < FLAT_GROWTH && heapFlat && tensorsFlat;
        out.printf(Locale.ROOT, "memory %s: outside the heap %,d → %,d MiB (%+.1f%%) from step %d to %d (resident %,d → "
                        + "%,d MiB); %s%n", flat ? "flat" : "NOT flat", first.outsideHeap() >> 20,
                last.outsideHeap() >> 20, 100 * growth, settle, steps, first.resident() >> 20, last.resident() >> 20,
                tail);
        return flat;
    }

    /** The process's resident set size from /proc/self/status (Linux), or −1. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            return -1;
        }
        return -1;
    }
}
