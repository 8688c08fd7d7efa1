package moonlight4j.cli;

import moonlight4j.api.Backend;
import moonlight4j.api.BackendProvider;
import moonlight4j.api.Backends;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code moonlight backends}: every backend on the class path, whether it runs here, its device and dtypes. */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "List the backends found, their device and supported dtypes; the default one is marked *.")
final class BackendsCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        String chosen = null;
        try {
            chosen = Backends.get(null).name();
        } catch (RuntimeException e) {
            System.out.println("no default backend: " + e.getMessage());
        }
        for (BackendProvider p : Backends.providers()) {
            String why = p.unavailableReason();
            String mark = p.name().equals(chosen) ? "*" : " ";
            if (why != null) {
                System.out.printf("%s %-6s priority %3d  unavailable: %s%n", mark, p.name(), p.priority(), why);
                continue;
            }
            Backend be = p.create();
            System.out.printf("%s %-6s priority %3d  device: %s%n", mark, p.name(), p.priority(), be.device());
            System.out.printf("         dtypes: %s%n", be.dtypes());
            for (String line : be.dtypeNotes().split("\n")) System.out.printf("           %s%n", line);
        }
        return 0;
    }
}
