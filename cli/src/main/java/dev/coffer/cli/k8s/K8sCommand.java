package dev.coffer.cli.k8s;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code coffer k8s}: prepare a Kubernetes node's containerd for Coffer pods, and undo it. */
@Command(name = "k8s", mixinStandardHelpOptions = true,
        description = {"Kubernetes nodes: `install` puts Coffer's containerd shim on the node and adds the runtime",
                "'" + ContainerdConfig.RUNTIME_NAME + "' to containerd's config; `uninstall` removes both; `runtimeclass` prints the",
                "RuntimeClass that sends pods (runtimeClassName: " + RuntimeClassManifest.NAME + ") to it. deploy/kubernetes/ runs",
                "install on every node labelled " + RuntimeClassManifest.NODE_LABEL + "=true."},
        subcommands = {K8sCommand.Install.class, K8sCommand.Uninstall.class, K8sCommand.RuntimeClass.class},
        footer = {"", "Examples:",
                "  sudo coffer k8s install --dry-run",
                "  sudo coffer k8s install --shim-classpath '/opt/coffer/lib/*'",
                "  coffer k8s runtimeclass | kubectl apply -f -",
                "  sudo coffer k8s uninstall -o json"})
public final class K8sCommand implements Runnable {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    /** What to do after a change; a real run prints it after "now " (the node installer's script greps for that line). */
    static final String NEXT_STEP = "restart containerd (e.g. systemctl restart containerd) for the change to take effect";

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The options install and uninstall share. */
    static final class NodeOptions {
        @Option(names = "--config", paramLabel = "FILE", defaultValue = "/etc/containerd/config.toml",
                description = "containerd's config (default: ${DEFAULT-VALUE}); edited in place, every other line kept.")
        Path config;

        @Option(names = "--bin-dir", paramLabel = "DIR", defaultValue = "/usr/local/bin",
                description = "A directory on containerd's PATH for the shim launcher " + ContainerdConfig.SHIM_BINARY
                        + " (default: ${DEFAULT-VALUE}).")
        Path binDir;

        @Option(names = "--dry-run", description = "Print every change (files, lines added and removed) and make none.")
        boolean dryRun;
    }

    @Command(name = "install", mixinStandardHelpOptions = true,
            description = {"Make this node run Coffer pods: the shim launcher on PATH, the runtime in containerd's config.",
                    "Writes the launcher " + ContainerdConfig.SHIM_BINARY + " into --bin-dir (it runs Coffer's shim",
                    "launcher with --java and --shim-classpath) and adds to --config the table",
                    "  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes." + ContainerdConfig.RUNTIME_NAME + "]",
                    "  runtime_type = \"" + ContainerdConfig.RUNTIME_TYPE + "\"",
                    "(containerd 2's config version 3 gets it under io.containerd.cri.v1.runtime), passing the pod",
                    "policy annotation to the shim. The config is edited as text between two marker comments, and",
                    "only when parsing it before and after shows that nothing else changed. Idempotent: a node",
                    "already set up is left as it is. Nothing is written if any step cannot be made (a runtime",
                    "named '" + ContainerdConfig.RUNTIME_NAME + "' or a launcher install did not write). Then prints the RuntimeClass;",
                    "restart containerd for the runtime to take effect."},
            footer = {"", "Examples:",
                    "  sudo coffer k8s install --dry-run",
                    "  sudo coffer k8s install --config /etc/containerd/config.toml --bin-dir /usr/local/bin \\",
                    "      --shim-classpath '/opt/coffer/lib/*' --java /opt/coffer/jre/bin/java",
                    "  coffer k8s install --config /host/etc/containerd/config.toml --bin-dir /host/usr/local/bin -o json"})
    static final class Install implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        CommonOptions common;
        @Mixin
        OutputOption output;
        @Mixin
        NodeOptions node;

        @Option(names = "--java", paramLabel = "FILE",
                description = "The Java 25 binary the shim runs on, as the node sees it (default: the one running this command).")
        Path java;

        @Option(names = "--shim-launcher", paramLabel = "FILE",
                description = "Coffer's shim launcher, as the node sees it (default: shim/src/main/sh/" + ContainerdConfig.SHIM_BINARY
                        + " in the Coffer checkout this command runs from).")
        Path launcher;

        @Option(names = "--shim-classpath", paramLabel = "CP",
                description = "The shim's class path, as the node sees it (default: $COFFER_SHIM_CLASSPATH); e.g. the output of"
                        + " `mvn -q -pl shim dependency:build-classpath -Dmdep.outputFile=/dev/stdout` plus the shim's jar.")
        String classpath;

        @Override
        public void run() {
            String cp = classpath != null ? classpath : System.getenv("COFFER_SHIM_CLASSPATH");
            if (cp == null || cp.isBlank()) {
                throw new dev.coffer.cli.UsageException("expected the shim's class path in --shim-classpath CP or $COFFER_SHIM_CLASSPATH,"
                        + " found neither; give the jars of the shim module and its dependencies as the node sees them");
            }
            Path javaBin = java != null ? java : Path.of(System.getProperty("java.home"), "bin", "java");
            Path shim = launcher != null ? launcher : checkoutLauncher();
            NodeSetup setup = new NodeSetup(node.binDir, node.config, javaBin.toAbsolutePath(), shim.toAbsolutePath(), cp);
            List<NodeChange> plan;
            try {
                plan = setup.installPlan();
            } catch (K8sException e) {
                throw new CofferException("nothing installed: " + e.getMessage());
            }
            report(spec, output, "install", node.dryRun, plan, true);
        }
    }

    @Command(name = "uninstall", mixinStandardHelpOptions = true,
            description = {"Undo install: remove the shim launcher and the runtime install wrote.",
                    "Removes the launcher from --bin-dir (only a launcher install wrote) and the lines install",
                    "added to --config (between its markers; nothing else). Idempotent. Delete the",
                    "RuntimeClass and restart containerd afterwards; pods still running on the runtime keep running",
                    "until then, but new ones cannot start."},
            footer = {"", "Examples:", "  sudo coffer k8s uninstall --dry-run", "  sudo coffer k8s uninstall -o json"})
    static final class Uninstall implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        CommonOptions common;
        @Mixin
        OutputOption output;
        @Mixin
        NodeOptions node;

        @Override
        public void run() {
            // the launcher's inputs do not matter for removal
            NodeSetup setup = new NodeSetup(node.binDir, node.config, Path.of("java"), Path.of(ContainerdConfig.SHIM_BINARY), "");
            List<NodeChange> plan;
            try {
                plan = setup.uninstallPlan();
            } catch (K8sException e) {
                throw new CofferException("nothing uninstalled: " + e.getMessage());
            }
            report(spec, output, "uninstall", node.dryRun, plan, false);
        }
    }

    @Command(name = "runtimeclass", mixinStandardHelpOptions = true,
            description = {"Print the RuntimeClass '" + RuntimeClassManifest.NAME + "' (handler " + ContainerdConfig.RUNTIME_NAME
                    + ", scheduled on nodes labelled " + RuntimeClassManifest.NODE_LABEL + "=true)."},
            footer = {"", "Examples:", "  coffer k8s runtimeclass | kubectl apply -f -"})
    static final class RuntimeClass implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        CommonOptions common;

        @Override
        public void run() {
            PrintWriter out = spec.commandLine().getOut();
            out.print(RuntimeClassManifest.yaml());
            out.flush();
        }
    }

    /** Applies the plan (unless a dry run) in order, then says what was (or would be) done. */
    private static void report(CommandSpec spec, OutputOption output, String action, boolean dryRun, List<NodeChange> plan, boolean install) {
        List<NodeChange> applied = new ArrayList<>();
        if (!dryRun) {
            for (NodeChange c : plan) {
                try {
                    c.apply();
                    applied.add(c);
                } catch (IOException e) {
                    throw new CofferException(action + " stopped at " + c.path() + " (" + e.getMessage() + ")"
                            + (applied.isEmpty() ? "; nothing was changed" : "; already done: " + applied.stream().map(x -> x.path().toString()).toList()
                            + "; fix the cause and run " + action + " again (it completes what is missing)"), e);
                }
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        String next = plan.isEmpty() ? null : NEXT_STEP;
        if (output.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("action", action);
            j.put("dryRun", dryRun);
            j.put("changed", !dryRun && !plan.isEmpty());
            List<Map<String, Object>> changes = new ArrayList<>();
            for (NodeChange c : plan) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("path", c.path().toString());
                m.put("kind", c instanceof NodeChange.DeleteFile ? "delete" : "write");
                m.put("summary", c.summary());
                m.put("diff", c.diff());
                changes.add(m);
            }
            j.put("changes", changes);
            if (install) j.put("runtimeClass", RuntimeClassManifest.yaml());
            if (next != null) j.put("next", next);
            Json.print(out, j);
            return;
        }
        if (plan.isEmpty()) {
            out.println("nothing to do: this node is already " + (install ? "set up for" : "without") + " the Coffer runtime");
        }
        for (NodeChange c : plan) {
            out.println((dryRun ? "would " : "") + c.summary() + ": " + c.path());
            for (String line : c.diff()) out.println("    " + line);
        }
        if (next != null) out.println((dryRun ? "then " : "now ") + next);
        if (install) {
            out.println();
            out.println("# the RuntimeClass (coffer k8s runtimeclass | kubectl apply -f -):");
            out.print(RuntimeClassManifest.yaml());
        }
        out.flush();
    }

    /**
     * The launcher in the Coffer checkout this CLI runs from (cli/target/coffer-cli.jar or cli/target/classes);
     * also what {@code coffer demo --kubernetes} puts on its private containerd's PATH.
     */
    public static Path checkoutLauncher() {
        Path code;
        try {
            code = Path.of(K8sCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            throw new CofferException("cannot tell where this Coffer is installed; give --shim-launcher FILE");
        }
        Path root = code.getParent() == null || code.getParent().getParent() == null ? null : code.getParent().getParent().getParent();
        Path launcher = root == null ? null : root.resolve("shim/src/main/sh").resolve(ContainerdConfig.SHIM_BINARY);
        if (launcher == null || !Files.isRegularFile(launcher)) {
            throw new CofferException("expected Coffer's shim launcher at " + launcher + " (next to this CLI's " + code
                    + "), found none; give --shim-launcher FILE");
        }
        return launcher;
    }
}
