package dev.coffer.runtime.sandbox;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The registry of sandbox backends by --isolation name; a new backend is one entry here. */
public final class SandboxBackends {
    private static final Map<String, Supplier<SandboxBackend>> BACKENDS = new LinkedHashMap<>();

    static {
        BACKENDS.put(ProcessSandboxBackend.NAME, ProcessSandboxBackend::new);
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
                    + "\"" + ("microvm".equals(name) ? "; the microVM backend is not built yet, use --isolation process" : ""));
        }
        return b.get();
    }
}
