package moonlight4j.nd4j;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Leak check (not a test): Muon updates (docs/muon.md#one-step) on 1024×1024 matrices on one backend (default
 * {@code nd4j}) — momentum {@code buf ← μ·buf + g}, Nesterov {@code g' = g + μ·buf}, NS5 (5 Newton–Schulz steps
 * through {@link BenchTable#newtonSchulz5}), {@code p ← p·(1 − lr·wd)}, {@code p ← p − lr'·u} — printing the JVM
 * heap used after a GC and JavaCPP's off-heap counters ({@link Pointer#totalBytes()} = bytes JavaCPP has allocated
 * and not freed, {@link Pointer#physicalBytes()} = resident memory of the process) every 20 updates.
 * (JavaCPP's totalBytes stays 0 on nd4j-native: libnd4j allocates its host buffers itself, so the resident size is
 * the figure to watch.) Arguments: [backend] [updates (default 200, i.e. 1,000 NS steps)] [dtype (F32|BF16, default
 * BF16)] [leak]; with {@code leak} every NS output is kept (a real leak of one 4 MiB tensor per update), a control
 * run showing what a leak looks like in these figures.
 */
public final class MemoryCheck {

    private MemoryCheck() {
    }

    public static void main(String[] args) {
        Backend be = Backends.get(args.length > 0 ? args[0] : "nd4j");
        int updates = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        DType nsType = args.length > 2 ? DType.parse(args[2]) : DType.BF16;
        boolean leak = args.length > 3 && args[3].equals("leak");
        List<Tensor> leaked = new ArrayList<>();
        System.out.println("memory check: " + be.name() + " (" + be.device() + "), " + updates + " updates × 5 NS steps ("
                + nsType + ") on 1024×1024" + (leak ? ", LEAKING the NS output (control)" : ""));
        int n = 1024;
        Random r = new Random(7);
        float[] init = new float[n * n];
        for (int i = 0; i < init.length; i++) init[i] = (float) r.nextGaussian() * 0.02f;
        try (Tensor p = be.fromFloats(init, n, n); Tensor buf = be.zeros(DType.F32, n, n)) {
            for (int t = 0; t <= updates; t++) {
                for (int i = 0; i < init.length; i++) init[i] = (float) r.nextGaussian();
                try (Tensor g = be.fromFloats(init, n, n)) {
                    be.scaleInPlace(buf, 0.95);                           // buf = μ·buf + g
                    be.axpyInPlace(buf, 1, g);
                    try (Tensor gn = be.copy(g)) {
                        be.axpyInPlace(gn, 0.95, buf);                    // g' = g + μ·buf (Nesterov)
                        Tensor u = BenchTable.newtonSchulz5(be, gn, nsType);
                        be.scaleInPlace(p, 1 - 1e-3 * 0.1);
                        be.axpyInPlace(p, -1e-3 * 0.2 * Math.sqrt(n), u);
                        if (leak) leaked.add(u);
                        else u.close();
                    }
                }
                if (t % 20 == 0) report(t);
            }
        }
    }

    private static void report(int t) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long heap = rt.totalMemory() - rt.freeMemory();
        System.out.printf("update %4d (NS steps %5d): heap used %6.1f MiB, JavaCPP totalBytes %7.1f MiB, "
                        + "process physicalBytes (RSS) %7.1f MiB%n", t, 5 * t, heap / 1048576.0,
                Pointer.totalBytes() / 1048576.0, Pointer.physicalBytes() / 1048576.0);
    }
}
