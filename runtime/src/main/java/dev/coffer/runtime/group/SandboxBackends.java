package dev.coffer.runtime.group;

import dev.coffer.runtime.microvm.MicroVmSandboxBackend;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import dev.coffer.runtime.sandbox.SandboxBackend;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The registry of sandbox backends by --isolation name; a new backend is one entry here. It
 * lives beside the group lifecycle, its one user, so that the backends' packages depend on the
 * sandbox abstraction and never on each other.
 */
public final class SandboxBackends {
    private static final Map<String, Supplier<SandboxBackend>> BACKENDS = new LinkedHashMap<>();

    static {
        BACKENDS.put(ProcessSandboxBackend.NAME, ProcessSandboxBackend::new);
        BACKENDS.put(MicroVmSandboxBackend.NAME, MicroVmSandboxBackend::new);
    }

    private SandboxBackends() {}

    public static List<String> names() {
        return List.copyOf(BACKENDS.keySet());
    }

    /** @throws IllegalArgumentException naming the backends there are */
    public static SandboxBackend byName(String name) {
        Supplier<SandboxBackend> b = BACKENDS.get(name);
        if (b == null) {
            throw new IllegalArgumentException("expected --isolation " + String.join("|", names()) + ", found \"" + name
                    + "\"");
        }
        return b.get();
    }
}
