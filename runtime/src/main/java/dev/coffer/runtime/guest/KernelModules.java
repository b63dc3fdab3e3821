package dev.coffer.runtime.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Resolves kernel modules and their dependencies from {@code /lib/modules/VERSION/modules.dep}
 * into a load order: every module after the modules it needs. The guest loads them with
 * busybox {@code insmod}, which knows nothing about dependencies, so the order is all it gets.
 *
 * <p>Soft dependencies ({@code modules.softdep}, "pre:") are honoured the same way: e.g.
 * {@code libcrc32c} needs a crc32c implementation registered before it initializes, which is
 * why {@code crc32c_generic} must load first.
 */
final class KernelModules {
    private final Path moduleDir;
    private final Map<String, String> pathByName = new HashMap<>();
    private final Map<String, List<String>> depsByPath = new HashMap<>();
    private final Map<String, List<String>> softPreByName = new HashMap<>();

    private KernelModules(Path moduleDir) {
        this.moduleDir = moduleDir;
    }

    static KernelModules load(Path moduleDir) throws IOException {
        Path dep = moduleDir.resolve("modules.dep");
        if (!Files.isRegularFile(dep)) {
            throw new GuestBuildException("expected " + dep + " listing the kernel's modules, found no such file; reinstall linux-image-amd64");
        }
        KernelModules m = new KernelModules(moduleDir);
        for (String line : Files.readAllLines(dep)) {
            int colon = line.indexOf(':');
            if (colon <= 0) continue;
            String path = line.substring(0, colon).trim();
            List<String> deps = new ArrayList<>();
            for (String d : line.substring(colon + 1).trim().split("\\s+")) {
                if (!d.isEmpty()) deps.add(d);
            }
            m.pathByName.put(nameOf(path), path);
            m.depsByPath.put(path, deps);
        }
        Path soft = moduleDir.resolve("modules.softdep");
        if (Files.isRegularFile(soft)) {
            for (String line : Files.readAllLines(soft)) {
                String[] words = line.trim().split("\\s+");
                if (words.length < 3 || !words[0].equals("softdep")) continue;
                List<String> pre = new ArrayList<>();
                boolean inPre = false;
                for (int i = 2; i < words.length; i++) {
                    if (words[i].endsWith(":")) inPre = words[i].equals("pre:");
                    else if (inPre) pre.add(normalize(words[i]));
                }
                m.softPreByName.put(normalize(words[1]), pre);
            }
        }
        return m;
    }

    /** The module name as the kernel reports it: file name without .ko*, '-' read as '_'. */
    static String nameOf(String path) {
        String file = path.substring(path.lastIndexOf('/') + 1);
        int ko = file.indexOf(".ko");
        return normalize(ko > 0 ? file.substring(0, ko) : file);
    }

    private static String normalize(String name) {
        return name.replace('-', '_');
    }

    boolean exists(String name) {
        return pathByName.containsKey(normalize(name));
    }

    /**
     * The load order (paths relative to the module directory) for {@code wanted}, dependencies
     * first. Names that the kernel has built in (listed in modules.builtin) are skipped.
     */
    List<String> loadOrder(List<String> wanted) throws IOException {
        Set<String> builtin = new java.util.HashSet<>();
        Path builtinList = moduleDir.resolve("modules.builtin");
        if (Files.isRegularFile(builtinList)) {
            for (String line : Files.readAllLines(builtinList)) builtin.add(nameOf(line.trim()));
        }
        LinkedHashSet<String> order = new LinkedHashSet<>();
        for (String name : wanted) {
            String n = normalize(name);
            if (builtin.contains(n)) continue;
            if (!pathByName.containsKey(n)) {
                throw new GuestBuildException("expected kernel module " + name + " in " + moduleDir
                        + ", found neither the module nor a built-in; use a Debian linux-image-amd64 kernel");
            }
            visit(pathByName.get(n), order, new LinkedHashSet<>());
        }
        return List.copyOf(order);
    }

    private void visit(String path, LinkedHashSet<String> order, LinkedHashSet<String> stack) {
        if (order.contains(path)) return;
        if (!stack.add(path)) throw new GuestBuildException("kernel module dependency cycle through " + stack + "; modules.dep is corrupt, run depmod");
        for (String pre : softPreByName.getOrDefault(nameOf(path), List.of())) {
            String prePath = pathByName.get(pre);
            if (prePath != null) visit(prePath, order, stack);
        }
        // modules.dep lists the deepest dependency last; walking each recursively puts it first anyway
        for (String dep : depsByPath.getOrDefault(path, List.of())) visit(dep, order, stack);
        stack.remove(path);
        order.add(path);
    }
}
