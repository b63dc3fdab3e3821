package dev.coffer.cli.demo;

import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.StoreImageSource;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import dev.coffer.shim.cri.Cri;
import dev.coffer.shim.cri.CriClient;
import dev.coffer.shim.cri.PrivateContainerd;
import dev.coffer.shim.task.TaskService;
import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code coffer demo --kubernetes}: the demo's group as a pod, run the way the kubelet runs one.
 * A private containerd (Debian's, with its CRI plugin; its root, state and sockets under one
 * work directory in the Coffer home) gets the runtime handler {@code coffer}, whose shim is this
 * Coffer's launcher on a class path file of this CLI's own class path. The demo's images (built
 * offline, as {@code coffer demo} builds them) and a pause image are imported into both stores;
 * the pod carries its generated policy in the annotation Kata and AKS use, and every container
 * operation is a CRI call. The trust steps are {@link DemoTrust}'s, against the pod's Coffer group:
 * attestation and key release work for pods as for groups.
 *
 * <p>Whatever happens (a failed step, an exception, Ctrl-C), the pod is removed through CRI,
 * containerd is stopped and the work directory removed: {@link #cleanUp} runs from a finally
 * block and from a shutdown hook, once.
 */
final class KubernetesDemoRun {
    static final String ISOLATION = ProcessSandboxBackend.NAME;
    static final String PAUSE_IMAGE = "localhost/coffer-demo/pause:1";
    static final List<String> PAUSE_COMMAND = List.of("sleep", "2147483647");
    static final String POD = "coffer-demo";
    static final String POD_NAMESPACE = "default";
    /** The containers the demo creates in the pod, in order (the first one's running ends the timed start). */
    static final List<String> CONTAINERS = List.of("server", "client", DemoTrust.KEY_HOLDER);
    /** The bound on each wait of the demo: containerd's CRI, a container's exit, a shim's exit. */
    static final Duration BOUND = Duration.ofSeconds(180);

    private final Path home;
    private final PrintWriter live;
    private final List<DemoReport.Step> steps = new ArrayList<>();
    private final GroupManager groups;
    private final DemoTrust trust;

    private Path work;
    private PrivateContainerd containerd;
    private String podId;
    private String group;
    private Cri.PodSandboxConfig podConfig;
    private final java.util.Map<String, String> containerIds = new java.util.LinkedHashMap<>();
    /** RunPodSandbox to the first container running, as measured. */
    private long podRunningMs = -1;
    /** Set once {@link #cleanUp} began (the finally block, or the shutdown hook on Ctrl-C): no step starts after it. */
    private volatile boolean cleanedUp;
    /** What the pod's group's scratch turned out to be (the runtime's record), once it runs. */
    private dev.coffer.runtime.group.ScratchRecord scratch;

    /** @param live where to print each step as it ends, or null to stay quiet (JSON mode) */
    KubernetesDemoRun(Path home, PrintWriter live) {
        this.home = home;
        this.live = live;
        this.groups = new GroupManager(home);
        this.trust = new DemoTrust(home, ISOLATION, groups);
    }

    /** RunPodSandbox to the first container running in ms, or -1 when the pod did not get that far. */
    long podRunningMs() {
        return podRunningMs;
    }

    DemoReport execute() {
        if (live != null) {
            live.println("Coffer demo on Kubernetes' runtime path: a private containerd's CRI runs the demo's group as a pod with"
                    + " RuntimeHandler " + PrivateContainerd.RUNTIME_HANDLER + " (as the kubelet would); isolation " + ISOLATION
                    + ", TEE " + trust.tee() + " (process sandbox: isolates nothing from the host; the TEE is simulated, not hardware)");
            live.flush();
        }
        Thread hook = new Thread(this::cleanUp, "coffer-demo-kubernetes-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        trust.startVault();
        try {
            boolean ok = step("containerd-started", this::startContainerd)
                    && step("pod-running", this::runPod)
                    && step("client-reached-server", this::clientReachedServer)
                    && step("exec-denied", this::execDenied)
                    && step("attested", () -> trust.attested(group))
                    && step("key-released", () -> trust.keyReleased(group, this::keyHolderOutput));
            if (containerd != null) {
                // after a failed step too: the pod and containerd go, and the report says whether they left anything
                step("pod-removed", this::removePod);
                step("containerd-stopped", this::stopContainerd);
            }
        } finally {
            cleanUp();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down (Ctrl-C): the hook runs cleanUp, which has run already
            }
            trust.close();
        }
        return new DemoReport(ISOLATION, trust.tee(), scratch, steps);
    }

    private boolean step(String name, DemoRun.StepBody body) {
        if (cleanedUp) return false; // interrupted: the shutdown hook is taking everything down
        long start = System.nanoTime();
        String detail;
        boolean ok;
        try {
            detail = body.run();
            ok = true;
        } catch (StatusRuntimeException e) {
            detail = "CRI: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription();
            ok = false;
        } catch (Exception e) {
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            ok = false;
        }
        steps.add(new DemoReport.Step(name, ok, false, detail));
        if (live != null) {
            long ms = (System.nanoTime() - start) / 1_000_000;
            live.printf("  %-4s %-27s %s (%d ms)%n", ok ? "ok" : "FAIL", name, detail, ms);
            live.flush();
        }
        return ok;
    }

    // ---- containerd-started --------------------------------------------------------------------

    private String startContainerd() throws IOException {
        String unavailable = PrivateContainerd.unavailableReason();
        if (unavailable != null) {
            throw new IOException(unavailable + " (the coffer launcher installs it for `coffer demo --kubernetes` when run as root)");
        }
        DemoRun.requireBusybox();
        work = Files.createTempDirectory(home, "k8s-demo-");
        // the same two images in both stores: CRI resolves them in containerd's, the agent mounts Coffer's
        Path web = DemoRun.demoImage().writeLayout(work.resolve("web"), DemoRun.IMAGE);
        Path pause = new ImageBuilder().layer(DemoRun.demoLayer()).config(ImageConfig.of(PAUSE_COMMAND))
                .writeLayout(work.resolve("pause"), PAUSE_IMAGE);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(web);
            store.importArchive(pause);
        }
        Path javaBinary = Path.of(System.getProperty("java.home"), "bin", "java");
        Path shimLogs = Files.createDirectories(work.resolve("shim-logs"));
        containerd = PrivateContainerd.start(new PrivateContainerd.Options(work.resolve("containerd"), home,
                dev.coffer.cli.k8s.K8sCommand.checkoutLauncher(), shimClasspath(), javaBinary, PAUSE_IMAGE,
                null, null, Map.of("COFFER_SHIM_LOG_DIR", shimLogs.toString(), "COFFER_SHIM_ISOLATION", ISOLATION), BOUND));
        containerd.importLayout(web);
        containerd.importLayout(pause);
        for (String image : List.of(DemoRun.IMAGE, PAUSE_IMAGE)) {
            if (containerd.cri().imageStatus(image) == null) {
                throw new IOException("expected CRI to list " + image + " after its import, found it missing");
            }
        }
        String version = containerd.cri().version().getRuntimeVersion();
        return "containerd " + version + " (CRI on " + containerd.socket() + ", root and state under " + work
                + "), runtime handler " + PrivateContainerd.RUNTIME_HANDLER + " = io.containerd.coffer.v2; images "
                + DemoRun.IMAGE + " and " + PAUSE_IMAGE + " (sandbox_image) built offline and imported into containerd and the Coffer home";
    }

    /**
     * The shim's class path: this CLI's own, each entry made absolute (containerd starts the shim
     * in the task's bundle directory, where a relative entry finds nothing). The same files, so
     * the pod's agent measures as this CLI computes it for the endorsement.
     */
    static String shimClasspath() {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            if (!e.isBlank()) entries.add(Path.of(e).toAbsolutePath().normalize().toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    // ---- pod-running -----------------------------------------------------------------------------

    /**
     * The pod as a group spec, which the policy is generated from: the pause container (what the
     * sandbox task runs), then the demo's containers with the environment CRI gives each (HOSTNAME,
     * the pod's hostname), the SKR API and the scratch as {@code coffer demo}'s group has them.
     */
    String podSpecYaml() {
        String containers = """
                name: %s
                containers:
                  - name: pause
                    image: %s
                    command: [sleep, "2147483647"]
                  - name: server
                    image: %s
                    command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
                  - name: client
                    image: %s
                    command: [sh, -c]
                    args:
                      - "for i in $(seq 1 100); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; echo 'server never answered' >&2; exit 1"
                """.formatted(POD, PAUSE_IMAGE, DemoRun.IMAGE, DemoRun.IMAGE) + trust.specAddition(DemoRun.IMAGE);
        return withHostname(containers, CONTAINERS) + DemoRun.scratchSection(ISOLATION);
    }

    /** {@code yaml} with CRI's HOSTNAME (the pod's hostname) in the environment of the named containers, as the policy must pin it. */
    static String withHostname(String yaml, List<String> containers) {
        StringBuilder out = new StringBuilder();
        for (String line : yaml.split("\n", -1)) {
            out.append(line).append('\n');
            for (String c : containers) {
                if (line.equals("  - name: " + c)) out.append("    env: [{name: HOSTNAME, value: ").append(POD).append("}]\n");
            }
        }
        return out.substring(0, out.length() - 1);
    }

    private String runPod() throws Exception {
        String yaml = podSpecYaml();
        GroupSpec spec = GroupSpecParser.parse(yaml, "demo pod");
        GeneratedPolicy policy;
        try (ImageStore store = ImageStore.open(home)) {
            policy = new PolicyGenerator(new StoreImageSource(store)).generate(GroupPolicyInput.parse(yaml, "demo pod"), false);
        }
        // the pod's sandbox launches with the SKR API its policy pins (and no forwarded port): endorse that launch
        String endorsed = trust.endorseLaunch(spec);
        podConfig = Cri.PodSandboxConfig.newBuilder()
                .setMetadata(Cri.PodSandboxMetadata.newBuilder().setName(POD).setNamespace(POD_NAMESPACE).setUid("coffer-demo-" + ProcessHandle.current().pid()))
                .setHostname(POD).setLogDirectory(Files.createDirectories(work.resolve("pod-logs")).toString())
                .putAnnotations(PrivateContainerd.POLICY_ANNOTATION, Base64.getEncoder().encodeToString(policy.bytes()))
                // hostNetwork: no CNI needed; the pod's group makes a network namespace of its own, as `coffer run` does
                .setLinux(Cri.LinuxPodSandboxConfig.newBuilder().setSecurityContext(Cri.LinuxSandboxSecurityContext.newBuilder()
                        .setNamespaceOptions(Cri.NamespaceOption.newBuilder().setNetwork(Cri.NamespaceMode.NODE))))
                .build();
        CriClient cri = containerd.cri();
        long t0 = System.nanoTime();
        podId = cri.runPodSandbox(podConfig, PrivateContainerd.RUNTIME_HANDLER);
        group = TaskService.groupOf(PrivateContainerd.NAMESPACE, podId);
        long sandboxMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        for (String name : CONTAINERS) {
            GroupSpec.ContainerSpec c = spec.containers().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
            String id = cri.createContainer(podId, Cri.ContainerConfig.newBuilder()
                    .setMetadata(Cri.ContainerMetadata.newBuilder().setName(name))
                    .setImage(Cri.ImageSpec.newBuilder().setImage(c.image()))
                    .addAllCommand(c.command()).addAllArgs(c.args()).setLogPath(name + ".log").build(), podConfig);
            containerIds.put(name, id);
            cri.startContainer(id);
            if (podRunningMs < 0) podRunningMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        }
        Cri.ContainerStatus server = cri.containerStatus(containerIds.get("server"));
        if (server.getState() != Cri.ContainerState.CONTAINER_RUNNING) {
            throw new IOException("expected container server running, found " + server.getState() + " " + server.getReason());
        }
        GroupStatus status = groups.status(group);
        DemoTrust.requireEndorsed(group, endorsed, status);
        scratch = groups.scratch(group);
        if (!status.hostData().equals(policy.sha256())) {
            throw new IOException("expected the pod's group to be launched with HOST_DATA = sha256 of the pod's policy " + policy.sha256()
                    + ", found " + status.hostData());
        }
        return "pod " + POD + " (sandbox " + podId.substring(0, 12) + "…, Coffer group " + group + ") with containers "
                + String.join(", ", CONTAINERS) + " through CRI, RuntimeHandler " + PrivateContainerd.RUNTIME_HANDLER
                + ", policy in annotation " + PrivateContainerd.POLICY_ANNOTATION + " (HOST_DATA sha256:" + policy.sha256().substring(0, 16)
                + "…); RunPodSandbox " + sandboxMs + " ms, RunPodSandbox to the first container running " + podRunningMs + " ms";
    }

    // ---- the pod's containers through CRI --------------------------------------------------------

    /** Waits (bounded) for a container of the pod to exit; returns its status. */
    private Cri.ContainerStatus awaitExit(String name, Duration wait) throws Exception {
        String id = containerIds.get(name);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Cri.ContainerStatus s = containerd.cri().containerStatus(id);
            if (s.getState() == Cri.ContainerState.CONTAINER_EXITED || System.nanoTime() > deadline) return s;
            Thread.sleep(200);
        }
    }

    /** A container's output from the log CRI writes (its format: TIMESTAMP STREAM P|F TEXT), the text of each line. */
    private static String criLog(Cri.ContainerStatus s) throws IOException {
        Path log = Path.of(s.getLogPath());
        if (!Files.exists(log)) return "";
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ", 4);
            out.append(f.length == 4 ? f[3] : line).append('\n');
        }
        return out.toString();
    }

    private DemoTrust.HolderOutput keyHolderOutput(Duration wait) throws Exception {
        Cri.ContainerStatus s = awaitExit(DemoTrust.KEY_HOLDER, wait);
        return new DemoTrust.HolderOutput(s.getState() == Cri.ContainerState.CONTAINER_EXITED ? s.getExitCode() : null, criLog(s));
    }

    private String clientReachedServer() throws Exception {
        Cri.ContainerStatus client = awaitExit("client", Duration.ofSeconds(60));
        String log = criLog(client);
        if (client.getState() != Cri.ContainerState.CONTAINER_EXITED) {
            throw new IOException("the client container did not finish within 60 s (CRI state " + client.getState() + ")");
        }
        if (client.getExitCode() != 0 || !log.contains(DemoRun.PAGE.strip())) {
            throw new IOException("expected the client to print the server's page and exit 0; found exit code "
                    + client.getExitCode() + " and output: " + log.strip());
        }
        return "client fetched \"" + DemoRun.PAGE.strip() + "\" from the server over the pod's loopback, exit code 0 (CRI ContainerStatus,"
                + " output from CRI's log " + Path.of(client.getLogPath()).getFileName() + ")";
    }

    /** The command the policy does not list for the server: what a {@code kubectl exec} of a shell would send. */
    static final List<String> DENIED_EXEC = List.of("sh", "-c", "cat /www/index.html");

    /**
     * {@code kubectl exec} as the kubelet forwards it: CRI ExecSync of a shell in the server,
     * which the policy does not list. The agent refuses, and the CRI caller gets its reason.
     */
    private String execDenied() throws IOException {
        Cri.ExecSyncResponse r;
        try {
            r = containerd.cri().execSync(containerIds.get("server"), DENIED_EXEC, 60);
        } catch (StatusRuntimeException e) {
            String reason = String.valueOf(e.getStatus().getDescription());
            int at = reason.indexOf("exec_in_container");
            if (at < 0) {
                throw new IOException("expected CRI's error to carry the agent's exec_in_container denial, found " + e.getStatus());
            }
            return "ExecSync `sh -c 'cat /www/index.html'` in server refused, CRI " + e.getStatus().getCode() + ": "
                    + firstLine(reason.substring(at));
        }
        throw new IOException("expected the policy to refuse an ExecSync the pod's policy does not list, found it ran (exit "
                + r.getExitCode() + ", stdout " + r.getStdout().toStringUtf8().strip() + "); the agent is not enforcing the policy");
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }

    // ---- pod-removed, containerd-stopped ---------------------------------------------------------

    private String removePod() throws Exception {
        if (podId == null) return "no pod was started";
        CriClient cri = containerd.cri();
        // as the kubelet deletes a pod: its containers first, each with a grace period (busybox httpd as PID 1
        // ignores SIGTERM; a short grace keeps the demo quick, as `coffer demo` does), then the sandbox
        long t0 = System.nanoTime();
        for (String id : containerIds.values()) cri.stopContainer(id, 2);
        long containersMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        cri.stopPodSandbox(podId);
        cri.removePodSandbox(podId);
        long podMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) - containersMs;
        String removed = podId;
        podId = null;
        // the shim exits once containerd deleted its last task: a bounded wait
        long deadline = System.nanoTime() + BOUND.toNanos();
        while (!containerd.shimPids().isEmpty() && System.nanoTime() < deadline) Thread.sleep(100);
        List<String> left = leftOf(group);
        if (!left.isEmpty()) throw new IOException("the pod " + removed.substring(0, 12) + "… left: " + String.join("; ", left));
        return "StopContainer ×" + containerIds.size() + " (grace 2 s) " + containersMs + " ms, StopPodSandbox and RemovePodSandbox "
                + podMs + " ms; nothing left: no shim process, no Coffer group " + group
                + ", no agent or container process, no mounts under " + work;
    }

    /** What is left of the pod's group on the host: its shim, group, processes, mounts. Empty when nothing is. */
    private List<String> leftOf(String group) throws IOException {
        List<String> left = new ArrayList<>();
        if (!containerd.shimPids().isEmpty()) left.add("shim processes " + containerd.shimPids());
        if (group != null) {
            if (groups.list().stream().anyMatch(g -> g.name().equals(group))) left.add("Coffer group " + group);
            Path groupDir = groups.groupDir(group);
            if (Files.exists(groupDir)) left.add("the group's directory " + groupDir);
            List<String> processes = ProcessHandle.allProcesses()
                    .filter(p -> cmdline(p.pid()).contains(groupDir.toString())).map(p -> p.pid() + "").toList();
            if (!processes.isEmpty()) left.add("processes of the group (agent, containers): " + processes);
            List<Path> mounts = PrivateContainerd.mountsUnder(groupDir);
            if (!mounts.isEmpty()) left.add("mounts " + mounts);
        }
        List<Path> mounts = PrivateContainerd.mountsUnder(work);
        if (!mounts.isEmpty()) left.add("mounts " + mounts);
        return left;
    }

    private static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.ISO_8859_1).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    private String stopContainerd() throws IOException {
        Path dir = containerd.dir();
        containerd.close();
        PrivateContainerd.Leftovers leftovers = containerd.leftovers();
        if (!leftovers.none()) {
            throw new IOException("containerd stopped, but it left " + (leftovers.shims().isEmpty() ? "" : "shim processes "
                    + leftovers.shims() + " ") + (leftovers.mounts().isEmpty() ? "" : "mounts " + leftovers.mounts()
                    + " (unmounted now)"));
        }
        if (Files.exists(dir)) throw new IOException("containerd stopped, but its directory " + dir + " is still there");
        return "containerd stopped; its root, state and sockets removed (" + dir + ")";
    }

    /**
     * Takes everything the demo made down, once: the pod (through CRI, while containerd runs),
     * containerd, and the work directory. Runs from the finally block and from the shutdown hook
     * (Ctrl-C), so it never throws and says what it could not remove.
     */
    synchronized void cleanUp() {
        if (cleanedUp) return;
        cleanedUp = true;
        if (containerd != null && podId != null && containerd.running()) {
            try {
                containerd.cri().stopPodSandbox(podId);
                containerd.cri().removePodSandbox(podId);
            } catch (RuntimeException e) {
                warn("the demo pod " + podId + " could not be removed through CRI: " + e.getMessage());
            }
        }
        if (containerd != null) {
            containerd.close();
            // interrupted mid-call (Ctrl-C during RunPodSandbox: no pod id yet), a shim can outlive containerd:
            // its groups go first (agent, containers, mounts), then the shim itself
            for (long shim : containerd.leftovers().shims()) endShim(shim);
        }
        if (group != null) {
            try {
                if (groups.list().stream().anyMatch(g -> g.name().equals(group))) groups.rm(group, true);
            } catch (IOException e) {
                warn("the pod's Coffer group " + group + " could not be removed: " + e.getMessage() + "; remove it with coffer rm --force " + group);
            }
        }
        if (work != null) {
            try {
                if (PrivateContainerd.mountsUnder(work).isEmpty()) DemoRun.deleteTree(work);
            } catch (IOException e) {
                warn("the demo's work directory " + work + " could not be removed: " + e.getMessage());
            }
        }
    }

    /**
     * Ends a shim of the demo's containerd that outlived it: removes the Coffer groups it runs
     * (its children are their agents, whose command lines name the group directories), then
     * stops the shim (SIGTERM, SIGKILL after 30 s).
     */
    private void endShim(long pid) {
        Path groupsDir = groups.groupDir("x").getParent();
        java.util.Set<String> names = new java.util.TreeSet<>();
        ProcessHandle.of(pid).ifPresent(shim -> shim.descendants().forEach(child -> {
            String cmd = cmdline(child.pid());
            int at = cmd.indexOf(groupsDir + "/");
            if (at >= 0) {
                String rest = cmd.substring(at + groupsDir.toString().length() + 1);
                names.add(rest.split("[/ ]", 2)[0]);
            }
        }));
        for (String name : names) {
            try {
                groups.rm(name, true);
            } catch (IOException e) {
                warn("the Coffer group " + name + " of the demo's shim (pid " + pid + ") could not be removed: " + e.getMessage()
                        + "; remove it with coffer rm --force " + name);
            }
        }
        ProcessHandle.of(pid).ifPresent(shim -> {
            shim.destroy();
            try {
                shim.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                shim.destroyForcibly();
            }
        });
        warn("the demo's shim (pid " + pid + ") outlived containerd; it was stopped" + (names.isEmpty() ? "" : " after removing its groups " + names));
    }

    private void warn(String message) {
        System.err.println("coffer demo --kubernetes: " + message);
    }
}
