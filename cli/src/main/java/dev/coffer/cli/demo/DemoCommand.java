package dev.coffer.cli.demo;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.runtime.group.Isolation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code coffer demo}: Coffer's main job end to end, on embedded defaults, with a readable account. */
@Command(name = "demo",
        description = {"Run Coffer's main job end to end on embedded defaults: build a small image offline",
                "(from the host's busybox-static), import it, and run a group of two containers, a web",
                "server and a client that fetches a page from it over localhost inside the group.",
                "Prints one line per step; -o json prints a summary for scripts instead.",
                "",
                "With --kubernetes, the same group runs as a Kubernetes pod, the way the kubelet runs one: a",
                "private containerd (Debian's, its CRI plugin on; root, state and sockets in a temporary",
                "directory of the Coffer home) runs the pod with RuntimeHandler coffer, Coffer's shim puts",
                "the pod in one Coffer sandbox under the policy from the pod's annotation",
                "io.katacontainers.config.agent.policy, and every step is a CRI call: containerd-started,",
                "pod-running (RunPodSandbox to the first container running, in ms), client-reached-server,",
                "exec-denied (an ExecSync the policy does not allow, refused with the agent's reason, as",
                "kubectl exec would be), attested, key-released (the SKR API inside the pod), pod-removed",
                "(nothing left: no shim, sandbox, mounts or processes) and containerd-stopped. Needs root and",
                "containerd (the coffer launcher installs Debian's package). Everything it makes is removed at",
                "the end, also on failure or Ctrl-C. Pods run in the process sandbox (microVM pods are not",
                "supported yet)."},
        footer = {"", "Exit codes: 0 when every step succeeded, 1 when any failed.",
                "", "Examples:", "  coffer demo", "  coffer demo -o json | jq '.steps[] | select(.ok | not)'",
                "  sudo coffer demo --kubernetes", "  sudo coffer demo --kubernetes -o json | jq '.steps[] | {name, ok}'"})
public final class DemoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--isolation", paramLabel = "KIND", defaultValue = "auto",
            description = {"Sandbox: process, microvm (builds the guest first if needed), or auto (default: microvm",
                    "with a built guest and hardware KVM, else process)."})
    String isolation;

    @Option(names = "--kubernetes",
            description = {"Run the demo's group as a Kubernetes pod through a private containerd's CRI, with",
                    "RuntimeHandler coffer, as the kubelet would (needs root and containerd; see above)."})
    boolean kubernetes;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        DemoReport report;
        if (kubernetes) {
            if (!List.of("auto", "process", "microvm").contains(isolation)) {
                throw new dev.coffer.cli.UsageException("--isolation expects process, microvm or auto; found '" + isolation + "'");
            }
            if (isolation.equals("microvm")) {
                throw new dev.coffer.cli.UsageException("--kubernetes runs pods in the process sandbox; found --isolation " + isolation
                        + ": microVM pods are not supported yet (drop --isolation, or run `coffer demo --isolation microvm`"
                        + " without --kubernetes)");
            }
            report = new KubernetesDemoRun(CofferHome.resolve(), output.json() ? null : out).execute();
        } else {
            String chosen = chooseIsolation(isolation, out, output.json());
            report = new DemoRun(CofferHome.resolve(), chosen, output.json() ? null : out).execute();
        }
        if (output.json()) {
            Map<String, Object> json = new java.util.LinkedHashMap<>();
            if (kubernetes) json.put("runtimeHandler", dev.coffer.shim.cri.PrivateContainerd.RUNTIME_HANDLER);
            json.put("isolation", report.isolation());
            json.put("tee", report.tee());
            // what the scratch was, never what was hoped for: encrypted false with the reason where the sandbox could not
            json.put("scratch", report.scratch() == null ? null
                    : Map.of("encrypted", report.scratch().encrypted(), "detail", report.scratch().describe()));
            json.put("steps", report.steps());
            Json.print(out, json);
        } else {
            out.println(!report.ok() ? "demo FAILED: see the step marked FAIL above (run again with --verbose for details)."
                    : report.skippedSteps().isEmpty() ? "demo finished: every step succeeded."
                    : "demo finished: every step that ran succeeded; not run here: " + String.join(", ", report.skippedSteps())
                            + " (marked skip above, with the reason).");
            out.flush();
        }
        return report.ok() ? 0 : 1;
    }

    static String chooseIsolation(String requested, PrintWriter out, boolean quiet) {
        Isolation.Choice choice;
        try {
            choice = Isolation.choose(requested, CofferHome.resolve());
        } catch (IllegalArgumentException e) {
            throw new dev.coffer.cli.UsageException("--isolation expects process, microvm or auto; found '" + requested + "'");
        }
        if (!quiet && !choice.reason().equals("requested")) {
            out.println("isolation " + choice.backend() + " (" + choice.reason() + ")");
        }
        return choice.backend();
    }
}
