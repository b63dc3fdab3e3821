package dev.coffer.agent.container;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The OCI runtime binary the agent drives (runc or crun) and how to invoke it.
 *
 * <p>runc works on a host as is. crun refuses hybrid cgroup hierarchies (cgroup v1 controllers
 * plus a cgroup2 mount), so on such hosts every crun call runs in a private mount namespace in
 * which cgroup2 is mounted on /sys/fs/cgroup, with {@code --cgroup-manager=disabled}.
 */
public final class OciRuntime {
    private final String name;
    private final Path binary;
    private final String version;
    private final boolean crunWrapped;
    private final Path stateRoot;

    private OciRuntime(String name, Path binary, String version, boolean crunWrapped, Path stateRoot) {
        this.name = name;
        this.binary = binary;
        this.version = version;
        this.crunWrapped = crunWrapped;
        this.stateRoot = stateRoot;
    }

    /**
     * Finds the runtime to use. {@code requested} is "auto" (runc, else crun), "runc", "crun", or
     * a path to either binary.
     *
     * @throws AgentException naming what was looked for and where, when nothing usable exists
     */
    public static OciRuntime detect(String requested, Path stateRoot) {
        String want = requested == null || requested.isBlank() ? "auto" : requested;
        List<String> candidates = switch (want) {
            case "auto" -> List.of("runc", "crun");
            case "runc", "crun" -> List.of(want);
            default -> List.of(want);
        };
        List<String> problems = new ArrayList<>();
        for (String candidate : candidates) {
            Path binary = candidate.contains("/") ? Path.of(candidate) : onPath(candidate);
            if (binary == null) {
                problems.add(candidate + " not found on PATH=" + System.getenv("PATH"));
                continue;
            }
            if (!Files.isRegularFile(binary) || !Files.isExecutable(binary)) {
                problems.add(binary + " is not an executable file");
                continue;
            }
            HostCommand.Outcome v;
            try {
                v = HostCommand.run(List.of(binary.toString(), "--version"), 10_000);
            } catch (AgentException e) {
                problems.add(binary + ": " + e.getMessage());
                continue;
            }
            if (v.exitCode() != 0) {
                problems.add(binary + " --version failed: " + v.output());
                continue;
            }
            String firstLine = v.output().lines().findFirst().orElse("").strip();
            boolean isCrun = binary.getFileName().toString().contains("crun") || firstLine.startsWith("crun");
            String name = isCrun ? "crun" : "runc";
            String version = firstLine.replaceFirst("^(runc|crun) version ", "");
            return new OciRuntime(name, binary, version, isCrun && !unifiedCgroupOnly(), stateRoot);
        }
        throw AgentException.failed("expected an OCI runtime (" + String.join(" or ", candidates) + "), found none usable: "
                + String.join("; ", problems)
                + "; install one (apt-get install -y --no-install-recommends runc) or pass --runtime PATH");
    }

    private static Path onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p) && Files.isRegularFile(p)) return p;
        }
        return null;
    }

    /** True when /sys/fs/cgroup is a pure cgroup2 mount, the only layout crun accepts as is. */
    private static boolean unifiedCgroupOnly() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 2 && f[1].equals("/sys/fs/cgroup")) {
                    return f[2].equals("cgroup2");
                }
            }
        } catch (java.io.IOException e) {
            return false;
        }
        return false;
    }

    public String name() {
        return name;
    }

    public Path binary() {
        return binary;
    }

    /** One line for people: which runtime, which version, how it is invoked. */
    /**
     * Whether the runtime puts containers in cgroups it configures: not crun run with
     * {@code --cgroup-manager=disabled} on a hybrid host, which would ignore a policy's limits.
     */
    public boolean appliesResourceLimits() {
        return !crunWrapped;
    }

    public String describe() {
        return name + " " + version + " (" + binary + (crunWrapped
                ? ", in a private mount namespace with cgroup2 and --cgroup-manager=disabled" : "") + ")";
    }

    /** The full argv of one runtime call, e.g. {@code command("kill", id, "TERM")}. */
    List<String> command(String... args) {
        List<String> argv = new ArrayList<>();
        if (crunWrapped) {
            // unshare -m gives crun a private copy of the mount table (propagation private by
            // default), so the cgroup2 mount does not leak into the host's mount namespace.
            argv.addAll(List.of("unshare", "-m", "--", "sh", "-c",
                    "mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" \"$@\"", binary.toString(),
                    "--cgroup-manager=disabled"));
        } else {
            argv.add(binary.toString());
        }
        argv.add("--root");
        argv.add(stateRoot.toString());
        argv.addAll(List.of(args));
        return argv;
    }

    Path stateRoot() {
        return stateRoot;
    }
}
