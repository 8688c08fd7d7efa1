package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.Backends;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;
import moonlight4j.optim.Muon;
import moonlight4j.optim.NewtonSchulz;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Leak check (not a test): updates of the real {@link Muon} optimizer (docs/muon.md#one-step) on one 1024×1024 hidden
 * matrix on one backend (default {@code nd4j}), each in a {@link TensorScope} as the trainer runs them, printing the JVM
 * heap used after a GC and JavaCPP's off-heap counters ({@link Pointer#totalBytes()} = bytes JavaCPP has allocated
 * and not freed, {@link Pointer#physicalBytes()} = resident memory of the process) every 20 updates.
 * (JavaCPP's totalBytes stays 0 on nd4j-native: libnd4j allocates its host buffers itself, so the resident size is
 * the figure to watch.) Arguments: [backend] [updates (default 200, i.e. 1,000 NS steps)] [dtype (F32|BF16, default
 * BF16)] [leak]; with {@code leak} each update's gradient is kept (a real leak of one 4 MiB tensor per update), a
 * control run showing what a leak looks like in these figures.
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
        String name = "model.layers.0.mlp.down_proj.weight";                 // a hidden matrix: Muon's
        Random r = new Random(7);
        float[] init = new float[n * n];
        for (int i = 0; i < init.length; i++) init[i] = (float) r.nextGaussian() * 0.02f;
        Muon.Options options = Muon.Options.defaults().withNewtonSchulz(NewtonSchulz.release().withDtype(nsType));
        try (Tensor p = be.fromFloats(init, n, n); Muon muon = new Muon(be, options)) {
            for (int t = 0; t <= updates; t++) {
                for (int i = 0; i < init.length; i++) init[i] = (float) r.nextGaussian();
                try (TensorScope step = TensorScope.open()) {
                    Tensor g = be.fromFloats(init, n, n);
                    muon.step(Map.of(name, p), Map.of(name, g), 1e-3);
                    if (leak) leaked.add(step.keep(g));
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
