package dev.coffer.cli.k8s;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The node's side of Coffer's Kubernetes runtime: the shim launcher on containerd's PATH and the
 * runtime table in containerd's config. {@link #installPlan} and {@link #uninstallPlan} compute
 * the changes without writing; an empty plan means the node is already as asked (idempotent).
 *
 * @param binDir     the directory on containerd's PATH the launcher goes to
 * @param config     containerd's config.toml
 * @param java       the Java 25 binary the shim runs on
 * @param launcher   Coffer's shim launcher script ({@code shim/src/main/sh/containerd-shim-coffer-v2})
 * @param classpath  the shim's class path
 */
record NodeSetup(Path binDir, Path config, Path java, Path launcher, String classpath) {
    /** The first line after the shebang of the launcher install writes: uninstall removes only a file with it. */
    static final String LAUNCHER_MARK = "# Written by coffer k8s install (removed by coffer k8s uninstall).";

    Path launcherTarget() {
        return binDir.resolve(ContainerdConfig.SHIM_BINARY);
    }

    /**
     * The launcher containerd runs: the shim's own launcher with this node's Java and class path
     * (containerd's environment has neither). Values are single-quoted for the shell.
     */
    String launcherScript() {
        return "#!/bin/sh\n" + LAUNCHER_MARK + "\n"
                + "# containerd runs it for runtime_type " + ContainerdConfig.RUNTIME_TYPE + "; it runs Coffer's shim launcher with\n"
                + "# the Java and class path below (an environment variable of the same name overrides each).\n"
                + "COFFER_JAVA=${COFFER_JAVA:-" + shellQuote(java.toString()) + "}\n"
                + "COFFER_SHIM_CLASSPATH=${COFFER_SHIM_CLASSPATH:-" + shellQuote(classpath) + "}\n"
                + "export COFFER_JAVA COFFER_SHIM_CLASSPATH\n"
                + "exec " + shellQuote(launcher.toString()) + " \"$@\"\n";
    }

    /**
     * The changes install makes: the launcher (written unless it is there as install writes it)
     * and the runtime table (added unless the config has it as install writes it).
     *
     * @throws K8sException when a file in the way was not written by install, or an input is missing
     */
    List<NodeChange> installPlan() throws K8sException {
        requireFile(java, "--java", "the Java 25 binary the shim runs on (e.g. /usr/lib/jvm/temurin-25-jdk-amd64/bin/java)");
        requireFile(launcher, "--shim-launcher", "Coffer's shim launcher (shim/src/main/sh/" + ContainerdConfig.SHIM_BINARY + " in a Coffer checkout)");
        if (!Files.isDirectory(binDir)) {
            throw new K8sException("expected --bin-dir " + binDir + " to be a directory on containerd's PATH, found "
                    + (Files.exists(binDir) ? "a file" : "nothing") + "; create it or give another");
        }
        for (String v : List.of(java.toString(), launcher.toString(), classpath)) {
            if (v.indexOf('\n') >= 0 || v.indexOf('\0') >= 0) {
                throw new K8sException("expected --java, --shim-launcher and --shim-classpath on one line each, found a line break in '"
                        + v.replace("\n", "\\n") + "'");
            }
        }
        List<NodeChange> plan = new ArrayList<>();
        String wanted = launcherScript();
        String present = readIfPresent(launcherTarget());
        if (present != null && !ours(present)) {
            throw new K8sException(launcherTarget() + " exists and was not written by coffer k8s install (no line \"" + LAUNCHER_MARK
                    + "\"); move it away, or give another --bin-dir");
        }
        if (!wanted.equals(present)) {
            plan.add(new NodeChange.WriteFile(launcherTarget(), present, wanted, NodeChange.EXECUTABLE,
                    (present == null ? "create " : "update ") + "the shim launcher containerd runs for " + ContainerdConfig.RUNTIME_TYPE));
        }
        ContainerdConfig c = readConfig();
        String edited = c.withRuntime();
        if (!edited.equals(c.text())) {
            plan.add(new NodeChange.WriteFile(configTarget(), c.text(), edited, configMode(),
                    "add containerd's runtime '" + ContainerdConfig.RUNTIME_NAME + "' (" + c.header() + ")"));
        }
        return plan;
    }

    /**
     * The changes uninstall makes: the launcher removed (only one install wrote) and Coffer's
     * lines removed from the config.
     */
    List<NodeChange> uninstallPlan() throws K8sException {
        List<NodeChange> plan = new ArrayList<>();
        String present = readIfPresent(launcherTarget());
        if (present != null) {
            if (!ours(present)) {
                throw new K8sException(launcherTarget() + " was not written by coffer k8s install (no line \"" + LAUNCHER_MARK
                        + "\"); it is left alone, and so is everything else; remove it by hand if it should go");
            }
            plan.add(new NodeChange.DeleteFile(launcherTarget(), present, "remove the shim launcher"));
        }
        if (Files.exists(config)) {
            ContainerdConfig c = readConfig();
            String edited = c.withoutRuntime();
            if (!edited.equals(c.text())) {
                plan.add(new NodeChange.WriteFile(configTarget(), c.text(), edited, configMode(),
                        "remove containerd's runtime '" + ContainerdConfig.RUNTIME_NAME + "'"));
            }
        }
        return plan;
    }

    static boolean ours(String launcherText) {
        return launcherText.lines().limit(3).anyMatch(LAUNCHER_MARK::equals);
    }

    /** The file a config edit replaces: through a symlink to its target, so the link stays a link. */
    private Path configTarget() throws K8sException {
        try {
            return config.toRealPath();
        } catch (IOException e) {
            throw new K8sException("cannot resolve --config " + config + ": " + e.getMessage());
        }
    }

    private Set<PosixFilePermission> configMode() throws K8sException {
        try {
            return Files.getPosixFilePermissions(configTarget());
        } catch (IOException e) {
            throw new K8sException("cannot read the permissions of --config " + config + ": " + e.getMessage());
        }
    }

    private ContainerdConfig readConfig() throws K8sException {
        String text;
        try {
            if (Files.size(config) > 1 << 20) {
                throw new K8sException("--config " + config + " is larger than 1 MiB; expected containerd's config.toml");
            }
            text = Files.readString(config, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new K8sException("expected containerd's config at --config " + config + ", found none; write it with"
                    + " `containerd config default > " + config + "` (and restart containerd), or give its path");
        } catch (IOException e) {
            throw new K8sException("cannot read --config " + config + ": " + e.getMessage());
        }
        return ContainerdConfig.parse(text, config.toString());
    }

    private static String readIfPresent(Path file) throws K8sException {
        try {
            if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) return null;
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) > 64 * 1024) {
                return ""; // a link, a directory or a large file: not ours
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new K8sException("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static void requireFile(Path p, String option, String what) throws K8sException {
        if (!Files.isRegularFile(p)) throw new K8sException("expected " + option + " " + p + " to be " + what + ", found no such file");
        if (!Files.isExecutable(p)) throw new K8sException("expected " + option + " " + p + " to be executable, found it is not; chmod +x it");
    }

    /** POSIX single quotes: the value reaches the program as is, whatever it holds. */
    static String shellQuote(String s) {
        if (s.indexOf('\n') >= 0 || s.indexOf('\0') >= 0) throw new IllegalArgumentException("a path or class path with a line break");
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
