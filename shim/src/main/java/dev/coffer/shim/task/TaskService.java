package dev.coffer.shim.task;

import com.google.protobuf.Empty;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.Timestamp;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.oci.store.ImageNotFoundException;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;
import dev.coffer.runtime.group.RunOptions;
import dev.coffer.shim.proto.Shim;
import dev.coffer.shim.proto.TaskEvents;
import dev.coffer.shim.proto.TaskTypes;
import dev.coffer.shim.ttrpc.Code;
import dev.coffer.shim.ttrpc.TtrpcException;
import dev.coffer.shim.ttrpc.TtrpcService;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * containerd's Task service (runtime v2, containerd.task.v2.Task). A task without CRI's pod
 * annotations ({@code ctr run}) is a Coffer group of one container: Create checks the bundle,
 * image and policy; Start launches the group (the agent enforces the policy on the container, so
 * a refusal reaches the caller with the agent's reason); Wait/State/Pids/Kill follow it; Delete
 * stops and removes the group.
 * <p>
 * A Kubernetes pod is one shim and one group: the pod's sandbox (pause) task starts the group
 * under the pod's policy, and each container of the pod joins it, its Create a create_container
 * request to the group's agent and its Start a start_container, so the policy decides exactly as
 * for {@code coffer run}. Exec (what CRI's ExecSync and {@code kubectl exec} use) is an
 * exec_in_container request: one the policy does not allow fails Start with the agent's reason.
 * The exec then runs in the agent while the shim relays it: the stdin FIFO into write_exec_stdin
 * (which the policy allows only under allow_stdin), read_exec_output into the stdout and stderr
 * FIFOs, Kill as a signal the policy judges, CloseIO as the end of stdin.
 */
public final class TaskService {
    public static final String NAME = "containerd.task.v2.Task";
    private static final Duration WAIT_SLICE = Duration.ofSeconds(30);
    private static final Duration OUTPUT_DRAIN = Duration.ofSeconds(10);
    /**
     * How long one read of an exec's output waits in the agent when there is none: short, since a
     * microVM's agent session serves one request at a time and the exec's stdin writes wait behind it.
     */
    private static final Duration EXEC_OUTPUT_WAIT = Duration.ofMillis(500);
    /** The name of a pod's sandbox (pause) container in the pod's group. */
    static final String POD_SANDBOX_CONTAINER = "pause";
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final GroupManager groups;
    private final Path home;
    private final ShimConfig config;
    private final String namespace;
    private final EventPublisher events;
    private final Consumer<String> log;
    private final Runnable onShutdown;
    private final Map<String, Task> tasks = new ConcurrentHashMap<>();
    private final ImageDigests imageDigests;

    /** @param onShutdown ends the shim process (after the Shutdown response went out) */
    public TaskService(ShimConfig config, String namespace, EventPublisher events, Consumer<String> log, Runnable onShutdown) {
        this(config, namespace, events, log, onShutdown, ImageDigests.NONE);
    }

    /** @param imageDigests where the digest of a pod container's image, as containerd resolved it, is asked */
    public TaskService(ShimConfig config, String namespace, EventPublisher events, Consumer<String> log, Runnable onShutdown,
                       ImageDigests imageDigests) {
        this.imageDigests = imageDigests;
        this.config = config;
        this.home = config.cofferHome();
        this.groups = new GroupManager(home);
        this.namespace = namespace;
        this.events = events;
        this.log = log;
        this.onShutdown = onShutdown;
    }

    /** One task and its group. Mutable state is guarded by the task itself. */
    private static final class Task {
        final String id;
        final Path bundle;
        final String group;
        /** the container's name in the group */
        final String container;
        final String image;
        final BundleConfig bundleConfig;
        final Shim.CreateTaskRequest request;
        final CompletableFuture<Exit> exit = new CompletableFuture<>();
        final Map<String, ExecProcess> execs = new ConcurrentHashMap<>();
        TaskTypes.Status status = TaskTypes.Status.CREATED;
        /** the group runs (started by this task, or by the pod's sandbox task this one joined) */
        boolean groupStarted;
        int pid;

        Task(String id, Path bundle, String group, String container, String image, BundleConfig bundleConfig,
             Shim.CreateTaskRequest request) {
            this.id = id;
            this.bundle = bundle;
            this.group = group;
            this.container = container;
            this.image = image;
            this.bundleConfig = bundleConfig;
            this.request = request;
        }

        boolean member() {
            return bundleConfig.role() instanceof PodRole.Member;
        }

        /** Whether deleting this task removes its group (a member's group is its pod's). */
        boolean ownsGroup() {
            return !member();
        }
    }

    /** A process Exec added to a running task: run by the agent when started. */
    private static final class ExecProcess {
        final String id;
        final List<String> args;
        final Shim.ExecProcessRequest request;
        final CompletableFuture<Exit> exit = new CompletableFuture<>();
        TaskTypes.Status status = TaskTypes.Status.CREATED;
        /** The running process in the agent; null before Start. */
        volatile dev.coffer.runtime.group.ExecStream stream;
        /** The stdin FIFO while it is relayed; closed by CloseIO. */
        volatile FileChannel stdin;

        ExecProcess(String id, List<String> args, Shim.ExecProcessRequest request) {
            this.id = id;
            this.args = args;
            this.request = request;
        }
    }

    private record Exit(int status, Instant at) {}

    public TtrpcService service() {
        Map<String, TtrpcService.Method> m = new LinkedHashMap<>();
        m.put("Create", unary(Shim.CreateTaskRequest.parser(), this::create));
        m.put("Start", unary(Shim.StartRequest.parser(), this::start));
        m.put("State", unary(Shim.StateRequest.parser(), this::state));
        m.put("Wait", unary(Shim.WaitRequest.parser(), this::await));
        m.put("Kill", unary(Shim.KillRequest.parser(), this::kill));
        m.put("Delete", unary(Shim.DeleteRequest.parser(), this::delete));
        m.put("Pids", unary(Shim.PidsRequest.parser(), this::pids));
        m.put("Connect", unary(Shim.ConnectRequest.parser(), this::connect));
        m.put("Shutdown", unary(Shim.ShutdownRequest.parser(), this::shutdown));
        m.put("Exec", unary(Shim.ExecProcessRequest.parser(), this::exec));
        m.put("CloseIO", unary(Shim.CloseIORequest.parser(), this::closeIO));
        for (String refused : new String[]{"Pause", "Resume", "Checkpoint", "ResizePty", "Update", "Stats"}) {
            m.put(refused, request -> {
                throw new TtrpcException(Code.UNIMPLEMENTED, refused + " is not implemented by the Coffer shim yet"
                        + " (implemented: Create, Start, State, Wait, Kill, Delete, Pids, Exec, CloseIO, Connect, Shutdown)");
            });
        }
        return new TtrpcService(NAME, m);
    }

    @FunctionalInterface
    private interface Handler<Q> {
        Message handle(Q request) throws TtrpcException;
    }

    private static <Q> TtrpcService.Method unary(Parser<Q> parser, Handler<Q> handler) {
        return payload -> {
            Q request;
            try {
                request = parser.parseFrom(payload);
            } catch (InvalidProtocolBufferException e) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected a " + parser.getClass().getEnclosingClass().getSimpleName()
                        + " protobuf, found bytes that do not parse: " + e.getMessage());
            }
            return handler.handle(request).toByteArray();
        };
    }

    private Task task(String id) throws TtrpcException {
        Task t = tasks.get(id);
        if (t == null) throw new TtrpcException(Code.NOT_FOUND, "task " + id + " not found in this shim");
        return t;
    }

    private static ExecProcess execOf(Task task, String execId) throws TtrpcException {
        ExecProcess e = task.execs.get(execId);
        if (e == null) throw new TtrpcException(Code.NOT_FOUND, "exec process " + execId + " not found in task " + task.id);
        return e;
    }

    // ---- the calls -------------------------------------------------------------------------------

    private Message create(Shim.CreateTaskRequest r) throws TtrpcException {
        if (r.getTerminal()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected a task without a terminal, found terminal=true; "
                    + "the Coffer shim streams container output through the stdout FIFO and has no TTY support yet (drop -t)");
        }
        if (!r.getCheckpoint().isEmpty()) {
            throw new TtrpcException(Code.UNIMPLEMENTED, "restoring from a checkpoint is not supported: a confidential "
                    + "container's memory is not exported to the host");
        }
        if (tasks.containsKey(r.getId())) {
            throw new TtrpcException(Code.ALREADY_EXISTS, "task " + r.getId() + " already exists in this shim");
        }
        BundleConfig bundle = BundleConfig.read(Path.of(r.getBundle()));
        Task task = switch (bundle.role()) {
            case PodRole.Standalone ignored -> {
                String group = BundleConfig.groupName(namespace, r.getId());
                yield new Task(r.getId(), Path.of(r.getBundle()), group, BundleConfig.CONTAINER, bundle.image(), bundle, r);
            }
            case PodRole.Sandbox sandbox -> {
                if (!sandbox.sandboxId().equals(r.getId())) {
                    throw new TtrpcException(Code.INVALID_ARGUMENT, "expected the sandbox task's id to be its pod's ("
                            + sandbox.sandboxId() + "), found " + r.getId());
                }
                String group = BundleConfig.groupName(namespace, r.getId());
                yield new Task(r.getId(), Path.of(r.getBundle()), group, POD_SANDBOX_CONTAINER,
                        bundle.image() != null ? bundle.image() : config.pauseImage(), bundle, r);
            }
            case PodRole.Member member -> {
                Task pod = tasks.get(member.sandboxId());
                if (pod == null || !pod.groupStarted || pod.status != TaskTypes.Status.RUNNING) {
                    throw new TtrpcException(Code.FAILED_PRECONDITION, "expected pod sandbox " + member.sandboxId()
                            + " to be running in this shim before its container " + member.name() + " is created, found it "
                            + (pod == null ? "absent" : pod.status.name().toLowerCase()) + "; RunPodSandbox comes first");
                }
                yield new Task(r.getId(), Path.of(r.getBundle()), pod.group, member.name(), bundle.image(), bundle, r);
            }
        };
        if (!task.member() && !bundle.contentMounts().isEmpty()) {
            // a group's first task has no create_container of its own to carry them (and CRI gives a pause container none)
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected ConfigMap, Secret, projected or downwardAPI volumes only in a"
                    + " pod's containers, found " + bundle.contentMounts().size() + " in task " + r.getId() + " (" + bundle.role()
                    + "); run it as a container of a pod");
        }
        // checked now so a bad process fails Create, not Start
        var spec = bundle.groupSpec(task.group, task.container, task.image, config.allowUnencryptedScratch());
        if (task.member()) {
            joinPod(task, spec.containers().getFirst());
        } else {
            try (ImageStore store = ImageStore.open(home)) {
                store.resolve(task.image);
            } catch (ImageNotFoundException e) {
                throw new TtrpcException(Code.NOT_FOUND, "image " + task.image + " is not in the Coffer home " + home
                        + ": " + e.getMessage() + "; import it with `coffer image import`");
            } catch (IOException e) {
                throw new TtrpcException(Code.INTERNAL, "the Coffer image store at " + home + " cannot be read: " + e.getMessage());
            }
        }
        if (tasks.putIfAbsent(r.getId(), task) != null) {
            throw new TtrpcException(Code.ALREADY_EXISTS, "task " + r.getId() + " already exists in this shim");
        }
        events.publish(EventPublisher.TASK_CREATE, TaskEvents.TaskCreate.newBuilder().setContainerId(r.getId())
                .setBundle(r.getBundle()).addAllRootfs(r.getRootfsList())
                .setIo(TaskEvents.TaskIO.newBuilder().setStdin(r.getStdin()).setStdout(r.getStdout()).setStderr(r.getStderr()))
                .build());
        log.accept("created task " + r.getId() + " as container " + task.container + " of group " + task.group
                + " (image " + task.image + ", " + bundle.role() + (bundle.user() == null ? "" : ", user " + bundle.user().spec()
                + " groups " + bundle.user().additionalGids()) + ")");
        return Shim.CreateTaskResponse.newBuilder().setPid(0).build();
    }

    /**
     * A pod's container joins the pod's group: the agent mounts its layers and creates it under
     * the pod's policy (create_container). The image is the one containerd's CRI resolved, by
     * digest: Coffer's image of that name must be that very image.
     */
    private void joinPod(Task task, dev.coffer.policy.spec.GroupSpec.ContainerSpec spec) throws TtrpcException {
        ImageDigests.Resolved resolved = imageDigests.manifestDigest(task.id);
        if (resolved == null && imageDigests != ImageDigests.NONE) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected the digest containerd resolved for the image of"
                    + " container " + task.container + ", found none; a pod's image is checked by digest, not by name");
        }
        try {
            groups.createContainer(task.group, spec, resolved == null ? null : resolved.manifestDigest(),
                    task.bundleConfig.contentMounts());
        } catch (IOException e) {
            // how containerd's digest was found, where the error is about that digest (not, say, a policy denial)
            String via = resolved == null || !String.valueOf(e.getMessage()).contains(resolved.manifestDigest()) ? ""
                    : " (containerd resolved " + resolved.resolvedAs() + ")";
            log.accept("container " + task.container + " of pod group " + task.group + " refused: " + e.getMessage() + via);
            throw new TtrpcException(codeOf(e), "Coffer refused container " + task.container + ": " + e.getMessage() + via, e);
        }
        task.groupStarted = true;
    }

    private Message start(Shim.StartRequest r) throws TtrpcException {
        Task task = task(r.getId());
        if (!r.getExecId().isEmpty()) return startExec(task, execOf(task, r.getExecId()));
        synchronized (task) {
            if (task.status != TaskTypes.Status.CREATED) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected task " + task.id + " to be created, found it "
                        + task.status.name().toLowerCase() + "; a task starts once");
            }
            if (task.member()) {
                try {
                    ContainerRecord c = groups.startContainer(task.group, task.container);
                    task.pid = c.pid() == null ? 0 : c.pid().intValue();
                } catch (IOException e) {
                    log.accept("task " + task.id + " not started: " + e.getMessage());
                    throw new TtrpcException(codeOf(e), "Coffer did not start container " + task.container + ": " + e.getMessage(), e);
                }
            } else {
                RunOptions options = RunOptions.defaults().withIsolation(config.isolation()).withTee(config.tee())
                        .withAgentEnvironment(Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")))
                        // a pod's network (CNI's) becomes the group's; none: the group makes its own
                        .withNetworkNamespace(task.bundleConfig.networkNamespace());
                try {
                    String policy = policyFor(task);
                    options = options.withPolicy(policy);
                    List<String> joinable = task.bundleConfig.role() instanceof PodRole.Sandbox
                            ? PodImages.joinable(home, policy, policyText(policy)) : List.of();
                    var spec = task.bundleConfig.groupSpec(task.group, task.container, task.image, config.allowUnencryptedScratch());
                    groups.run(task.bundleConfig.role() instanceof PodRole.Sandbox ? PodSkr.withPolicySkr(spec, policyText(policy)) : spec,
                            options, joinable);
                } catch (IOException e) {
                    // nothing of the group is left: GroupManager.run removes what it made when it fails
                    task.status = TaskTypes.Status.STOPPED;
                    // ended before it began: Wait (CRI's cleanup kills and waits) must not block for ever
                    task.exit.complete(new Exit(255, Instant.now()));
                    deletePolicyFile(task);
                    String message = e.getMessage();
                    if (message != null && message.contains("allow_unencrypted_scratch") && task.bundleConfig.policyText() == null
                            && !config.allowUnencryptedScratch()) {
                        // the shim writes the spec: its setting is the one to name
                        message += "; for tasks of this shim, set " + ShimConfig.ALLOW_UNENCRYPTED_SCRATCH + "=true in containerd's"
                                + " environment";
                    }
                    log.accept("task " + task.id + " not started: " + message);
                    throw new TtrpcException(codeOf(e), "Coffer did not start task " + task.id + ": " + message, e);
                }
                task.groupStarted = true;
                try {
                    ContainerRecord c = containerOf(groups.status(task.group), task.container);
                    task.pid = c == null || c.pid() == null ? 0 : c.pid().intValue();
                } catch (IOException e) {
                    log.accept("task " + task.id + ": container pid unknown: " + e.getMessage());
                }
            }
            task.status = TaskTypes.Status.RUNNING;
            Thread.ofVirtual().name("task-" + task.id).start(() -> follow(task));
            events.publish(EventPublisher.TASK_START, TaskEvents.TaskStart.newBuilder().setContainerId(task.id).setPid(task.pid).build());
            return Shim.StartResponse.newBuilder().setPid(task.pid).build();
        }
    }

    private static ContainerRecord containerOf(GroupStatus status, String name) {
        return status.containers().stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
    }

    // ---- exec ------------------------------------------------------------------------------------

    /** Exec only records the process: the agent is asked (and the policy decides) when it starts. */
    private Message exec(Shim.ExecProcessRequest r) throws TtrpcException {
        Task task = task(r.getId());
        if (r.getTerminal()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected an exec process without a terminal, found terminal=true;"
                    + " the Coffer agent gives exec processes pipes, not a terminal, yet (kubectl exec -i without -t)");
        }
        List<String> args = new java.util.ArrayList<>();
        try {
            JSON.readTree(r.getSpec().getValue().toByteArray()).path("args").forEach(a -> args.add(a.asText()));
        } catch (IOException e) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected the exec process's OCI process spec (JSON), found: " + e.getMessage());
        }
        if (args.isEmpty()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected args in the exec process's spec, found none");
        }
        synchronized (task) {
            if (task.status != TaskTypes.Status.RUNNING) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected task " + task.id + " to be running for exec "
                        + r.getExecId() + ", found it " + task.status.name().toLowerCase());
            }
            if (task.execs.putIfAbsent(r.getExecId(), new ExecProcess(r.getExecId(), List.copyOf(args), r)) != null) {
                throw new TtrpcException(Code.ALREADY_EXISTS, "exec process " + r.getExecId() + " already exists in task " + task.id);
            }
        }
        events.publish(EventPublisher.TASK_EXEC_ADDED, TaskEvents.TaskExecAdded.newBuilder().setContainerId(task.id)
                .setExecId(r.getExecId()).build());
        return Empty.getDefaultInstance();
    }

    /**
     * Starts the exec process in the agent (exec_in_container, with stdin when containerd passed a
     * stdin FIFO): the policy allows it or Start fails with the agent's reason, which CRI returns to
     * its caller. The process then runs in the agent; the shim relays its stdin and output and
     * publishes its exit, which Wait returns.
     */
    private Message startExec(Task task, ExecProcess exec) throws TtrpcException {
        synchronized (exec) {
            if (exec.status != TaskTypes.Status.CREATED) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected exec process " + exec.id + " to be created, found it "
                        + exec.status.name().toLowerCase() + "; an exec process starts once");
            }
            exec.status = TaskTypes.Status.RUNNING;
        }
        boolean stdin = !exec.request.getStdin().isEmpty();
        try {
            exec.stream = groups.startExec(task.group, task.container, exec.id, exec.args, stdin);
        } catch (IOException e) {
            synchronized (exec) {
                exec.status = TaskTypes.Status.STOPPED;
            }
            exec.exit.complete(new Exit(126, Instant.now()));
            closeFifos(exec.request);
            log.accept("exec " + exec.id + " in " + task.container + " refused: " + e.getMessage());
            throw new TtrpcException(codeOf(e), "Coffer did not run exec " + exec.id + " in container " + task.container
                    + ": " + e.getMessage(), e);
        }
        events.publish(EventPublisher.TASK_EXEC_STARTED, TaskEvents.TaskExecStarted.newBuilder().setContainerId(task.id)
                .setExecId(exec.id).setPid(0).build());
        // platform threads: opening and reading a FIFO blocks in the kernel, which would hold a virtual thread's carrier
        if (stdin) Thread.ofPlatform().daemon(true).name("exec-stdin-" + exec.id).start(() -> relayStdin(task, exec));
        Thread.ofPlatform().daemon(true).name("exec-output-" + exec.id).start(() -> relayOutput(task, exec));
        return Shim.StartResponse.newBuilder().setPid(0).build();
    }

    /** The stdin FIFO into the agent until the writer closes it (or CloseIO does), then the process's stdin is closed. */
    private void relayStdin(Task task, ExecProcess exec) {
        byte[] buf = new byte[Request.MAX_STDIN_CHUNK];
        try (FileChannel in = FileChannel.open(Path.of(exec.request.getStdin()), StandardOpenOption.READ)) {
            exec.stdin = in;
            java.io.InputStream from = Channels.newInputStream(in);
            int n;
            while ((n = from.read(buf)) > 0) exec.stream.write(buf, n, false);
        } catch (IOException e) {
            // the FIFO was closed by CloseIO, or its writer went away: either way stdin ends here
        }
        try {
            if (!exec.exit.isDone()) exec.stream.write(new byte[0], 0, true);
        } catch (IOException e) {
            // a process that ended meanwhile has no stdin to close
            if (exec.exit.isDone() || e.getMessage().contains("found it ended")) return;
            log.accept("exec " + exec.id + " in " + task.container + ": stdin not closed: " + e.getMessage());
        }
    }

    /** The agent's output into the stdout and stderr FIFOs until the process ended; then its exit is published. */
    private void relayOutput(Task task, ExecProcess exec) {
        int status = 255;
        try (OutputStream out = openFifo(exec.request.getStdout());
             OutputStream err = openFifo(exec.request.getStderr())) {
            long outAt = 0;
            long errAt = 0;
            while (true) {
                Result.ExecOutput o = exec.stream.read(outAt, errAt, EXEC_OUTPUT_WAIT);
                if (o.stdout().length > 0) {
                    out.write(o.stdout());
                    out.flush();
                }
                if (o.stderr().length > 0) {
                    err.write(o.stderr());
                    err.flush();
                }
                outAt = o.stdoutNext();
                errAt = o.stderrNext();
                if (o.exited()) {
                    status = o.exitCode();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            log.accept("exec " + exec.id + " in " + task.container + ": output relay ended: " + e.getMessage());
        }
        FileChannel in = exec.stdin;
        if (in != null) {
            try {
                in.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
        Exit exit = new Exit(status, Instant.now());
        synchronized (exec) {
            exec.status = TaskTypes.Status.STOPPED;
        }
        exec.exit.complete(exit);
        events.publish(EventPublisher.TASK_EXIT, TaskEvents.TaskExit.newBuilder().setContainerId(task.id).setId(exec.id)
                .setPid(0).setExitStatus(status).setExitedAt(timestamp(exit.at())).build());
    }

    private void writeFifo(String path, String text) {
        if (path.isEmpty()) return;
        try (OutputStream out = openFifo(path)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            log.accept("exec output not written to " + path + ": " + e.getMessage());
        }
    }

    private void closeFifos(Shim.ExecProcessRequest r) {
        writeFifo(r.getStdout(), "");
        writeFifo(r.getStderr(), "");
    }

    /** Closes an exec's stdin (the relay then closes the process's); tasks take no stdin. */
    private Message closeIO(Shim.CloseIORequest r) throws TtrpcException {
        Task task = task(r.getId());
        if (!r.getExecId().isEmpty()) {
            ExecProcess e = execOf(task, r.getExecId());
            FileChannel in = e.stdin;
            if (r.getStdin() && in != null) {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }
        return Empty.getDefaultInstance();
    }

    /** The policy for the agent: the bundle's annotation (written next to the group), else the shim's default. */
    private String policyFor(Task task) throws IOException {
        if (task.bundleConfig.policyText() == null) return config.policy();
        Path file = policyFile(task);
        Files.createDirectories(file.getParent());
        Files.writeString(file, task.bundleConfig.policyText(), StandardCharsets.UTF_8);
        return file.toString();
    }

    /** The Rego text of a policy file; empty for {@code generate} and {@code allow-all}, which are not files. */
    private static String policyText(String policy) throws IOException {
        if (policy.equals(RunOptions.GENERATE) || policy.equals(RunOptions.ALLOW_ALL)) return "";
        return Files.readString(Path.of(policy), StandardCharsets.UTF_8);
    }

    private Path policyFile(Task task) {
        return home.resolve("shim-policies").resolve(task.group + ".rego");
    }

    private void deletePolicyFile(Task task) {
        try {
            Files.deleteIfExists(policyFile(task));
        } catch (IOException e) {
            log.accept("task " + task.id + ": policy file not removed: " + e.getMessage());
        }
    }

    /** The agent's failure code, where the error came from the agent, as the gRPC code containerd shows. */
    private static Code codeOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AgentClient.AgentCallException a) {
                return switch (a.failure().code()) {
                    case Response.Failure.DENIED -> Code.PERMISSION_DENIED;
                    case Response.Failure.NOT_FOUND -> Code.NOT_FOUND;
                    case Response.Failure.INVALID_REQUEST, Response.Failure.BAD_JSON -> Code.INVALID_ARGUMENT;
                    case Response.Failure.CONFLICT -> Code.ALREADY_EXISTS;
                    default -> Code.FAILED_PRECONDITION;
                };
            }
        }
        return Code.FAILED_PRECONDITION;
    }

    /**
     * Copies the container's output to the task's stdout FIFO while it runs, then records the
     * exit. The FIFOs close before Wait returns, as containerd's own shim does, so an attached
     * caller has all output when it learns the exit status.
     */
    private void follow(Task task) {
        // the copier stops once this thread has the exit (the agent's long wait, one question per
        // WAIT_SLICE), so it asks the agent nothing itself
        java.util.concurrent.atomic.AtomicBoolean exited = new java.util.concurrent.atomic.AtomicBoolean();
        Thread copier = Thread.ofVirtual().name("stdout-" + task.id).start(() -> copyOutput(task, exited::get));
        int status = exitStatus(task);
        exited.set(true);
        try {
            // the copier ends by itself once it drained the exited container's log; a caller that
            // detached and left a full pipe behind must not hold the exit back for ever
            if (!copier.join(OUTPUT_DRAIN)) {
                log.accept("task " + task.id + ": output not drained within " + OUTPUT_DRAIN.toSeconds() + " s (no reader?); dropped");
                copier.interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Exit exit = new Exit(status, Instant.now());
        synchronized (task) {
            task.status = TaskTypes.Status.STOPPED;
        }
        events.publish(EventPublisher.TASK_EXIT, TaskEvents.TaskExit.newBuilder().setContainerId(task.id).setId(task.id)
                .setPid(task.pid).setExitStatus(status).setExitedAt(timestamp(exit.at())).build());
        task.exit.complete(exit);
        log.accept("task " + task.id + " exited with status " + status);
    }

    private void copyOutput(Task task, java.util.function.BooleanSupplier exited) {
        try (OutputStream out = openFifo(task.request.getStdout());
             OutputStream err = openFifo(task.request.getStderr())) {
            // each stream to its own FIFO, so CRI's log lines say stdout or stderr
            groups.followOutput(task.group, task.container, (stderr, bytes) -> {
                OutputStream to = stderr ? err : out;
                to.write(bytes);
                to.flush();
            }, exited);
        } catch (IOException | RuntimeException e) {
            log.accept("task " + task.id + ": output copy ended: " + e.getMessage());
        }
    }

    /**
     * Opens a FIFO containerd passed for writing. Read-write, because opening a FIFO write-only
     * blocks until a reader opens it, and a detached caller ({@code ctr run -d}) never does.
     */
    private static OutputStream openFifo(String path) throws IOException {
        if (path.isEmpty()) return OutputStream.nullOutputStream();
        return Channels.newOutputStream(FileChannel.open(Path.of(path), StandardOpenOption.READ, StandardOpenOption.WRITE));
    }

    private int exitStatus(Task task) {
        while (true) {
            try {
                GroupStatus status = groups.status(task.group);
                ContainerRecord c = containerOf(status, task.container);
                if (c == null) return 255; // removed from the group (its pod stopped it)
                if (c.exitCode() != null) return c.exitCode();
                if (status.status().equals("stopped")) return 255; // stopped with the container's end unknown
                c = groups.waitFor(task.group, task.container, WAIT_SLICE);
                if (c.exitCode() != null) return c.exitCode();
            } catch (IOException e) {
                log.accept("task " + task.id + ": exit status unknown: " + e.getMessage());
                return 255;
            }
        }
    }

    private Message await(Shim.WaitRequest r) throws TtrpcException {
        Task task = task(r.getId());
        Exit exit = r.getExecId().isEmpty() ? task.exit.join() : execOf(task, r.getExecId()).exit.join();
        return Shim.WaitResponse.newBuilder().setExitStatus(exit.status()).setExitedAt(timestamp(exit.at())).build();
    }

    private Message state(Shim.StateRequest r) throws TtrpcException {
        Task task = task(r.getId());
        if (!r.getExecId().isEmpty()) {
            ExecProcess e = execOf(task, r.getExecId());
            synchronized (e) {
                Shim.StateResponse.Builder b = Shim.StateResponse.newBuilder().setId(task.id).setExecId(e.id)
                        .setBundle(task.bundle.toString()).setStatus(e.status).setStdout(e.request.getStdout())
                        .setStderr(e.request.getStderr()).setTerminal(false);
                Exit exit = e.exit.getNow(null);
                if (exit != null) b.setExitStatus(exit.status()).setExitedAt(timestamp(exit.at()));
                return b.build();
            }
        }
        synchronized (task) {
            Shim.StateResponse.Builder b = Shim.StateResponse.newBuilder().setId(task.id).setBundle(task.bundle.toString())
                    .setPid(task.pid).setStatus(task.status).setStdin(task.request.getStdin())
                    .setStdout(task.request.getStdout()).setStderr(task.request.getStderr()).setTerminal(false);
            Exit exit = task.exit.getNow(null);
            if (exit != null) b.setExitStatus(exit.status()).setExitedAt(timestamp(exit.at()));
            return b.build();
        }
    }

    private Message kill(Shim.KillRequest r) throws TtrpcException {
        Task task = task(r.getId());
        if (!r.getExecId().isEmpty()) {
            ExecProcess e = execOf(task, r.getExecId());
            if (e.exit.isDone()) throw new TtrpcException(Code.NOT_FOUND, "exec process " + e.id + " already finished");
            if (e.stream == null) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected exec process " + e.id + " to be started to signal it,"
                        + " found it created");
            }
            try {
                e.stream.signal(r.getSignal());
            } catch (IOException x) {
                throw new TtrpcException(codeOf(x), "Coffer did not signal exec " + e.id + " in container " + task.container
                        + ": " + x.getMessage(), x);
            }
            return Empty.getDefaultInstance();
        }
        TaskTypes.Status status;
        synchronized (task) {
            status = task.status;
            if (status == TaskTypes.Status.CREATED) {
                // never launched: nothing runs, the task simply ends (a pod container created in the
                // agent is deleted there when the task is)
                task.status = TaskTypes.Status.STOPPED;
                task.exit.complete(new Exit(128 + r.getSignal(), Instant.now()));
                return Empty.getDefaultInstance();
            }
        }
        if (status == TaskTypes.Status.STOPPED) {
            throw new TtrpcException(Code.NOT_FOUND, "process of task " + task.id + " already finished");
        }
        if (task.member()) {
            // One container of the pod. CRI's StopContainer sends the stop signal, waits its own
            // timeout (the pod's terminationGracePeriodSeconds) and then sends SIGKILL: so a stop
            // signal gets the agent's longest grace, never a shorter one of ours, and the SIGKILL
            // that follows stops it at once. The agent's stop runs behind the call; the task's
            // follower reports the exit.
            Duration grace = r.getSignal() == 9 ? Duration.ZERO : Request.LONGEST_GRACE;
            Thread.ofVirtual().name("kill-" + task.id).start(() -> {
                try {
                    groups.stopContainer(task.group, task.container, grace);
                } catch (IOException e) {
                    log.accept("container " + task.container + " not stopped: " + e.getMessage());
                }
            });
            return Empty.getDefaultInstance();
        }
        // the whole group (a pod's sandbox, or a task of its own): SIGKILL at once, any other signal
        // the group's grace period before SIGKILL (containerd's CRI kills a pod's sandbox with SIGKILL)
        Duration grace = r.getSignal() == 9 ? Duration.ZERO : GroupManager.DEFAULT_GRACE;
        try {
            GroupManager.StopOutcome stopped = groups.stop(task.group, grace);
            if (stopped.forced()) log.accept("task " + task.id + ": stop forced: " + stopped.forcedBecause());
        } catch (IOException e) {
            throw new TtrpcException(codeOf(e), "task " + task.id + " was not stopped: " + e.getMessage(), e);
        }
        return Empty.getDefaultInstance();
    }

    private Message delete(Shim.DeleteRequest r) throws TtrpcException {
        Task task = task(r.getId());
        if (!r.getExecId().isEmpty()) {
            ExecProcess e = execOf(task, r.getExecId());
            if (!e.exit.isDone()) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected exec process " + e.id + " to have finished before"
                        + " deletion, found it " + e.status.name().toLowerCase());
            }
            task.execs.remove(e.id);
            Exit exit = e.exit.join();
            return Shim.DeleteResponse.newBuilder().setPid(0).setExitStatus(exit.status()).setExitedAt(timestamp(exit.at())).build();
        }
        synchronized (task) {
            if (task.status == TaskTypes.Status.RUNNING) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected task " + task.id + " to be stopped before deletion, "
                        + "found it running; kill it first");
            }
        }
        if (task.groupStarted && task.member()) {
            leavePod(task);
        } else if (task.groupStarted) {
            try {
                groups.rm(task.group, true);
            } catch (IOException e) {
                throw new TtrpcException(Code.INTERNAL, "group " + task.group + " of task " + task.id + " was not removed: "
                        + e.getMessage() + "; remove it with `coffer rm --force " + task.group + "`", e);
            }
        }
        deletePolicyFile(task);
        tasks.remove(task.id);
        Exit exit = task.exit.getNow(new Exit(0, Instant.now()));
        events.publish(EventPublisher.TASK_DELETE, TaskEvents.TaskDelete.newBuilder().setContainerId(task.id).setPid(task.pid)
                .setExitStatus(exit.status()).setExitedAt(timestamp(exit.at())).build());
        log.accept("deleted task " + task.id + " and group " + task.group);
        return Shim.DeleteResponse.newBuilder().setPid(task.pid).setExitStatus(exit.status()).setExitedAt(timestamp(exit.at())).build();
    }

    /** A pod's container leaves the pod's group: the agent deletes it (and its overlay), its record goes. */
    private void leavePod(Task task) throws TtrpcException {
        try {
            if (!Files.exists(groups.groupDir(task.group).resolve("state.json"))) return; // the pod is gone already
            if (!groups.status(task.group).status().equals("stopped")) groups.stopContainer(task.group, task.container, Duration.ZERO);
            groups.forgetContainer(task.group, task.container);
        } catch (IOException e) {
            throw new TtrpcException(Code.INTERNAL, "container " + task.container + " of task " + task.id + " was not removed"
                    + " from group " + task.group + ": " + e.getMessage(), e);
        }
    }

    private Message pids(Shim.PidsRequest r) throws TtrpcException {
        Task task = task(r.getId());
        Shim.PidsResponse.Builder b = Shim.PidsResponse.newBuilder();
        synchronized (task) {
            if (task.status == TaskTypes.Status.RUNNING && task.pid > 0) {
                b.addProcesses(TaskTypes.ProcessInfo.newBuilder().setPid(task.pid));
            }
        }
        return b.build();
    }

    private Message connect(Shim.ConnectRequest r) throws TtrpcException {
        Task task = tasks.get(r.getId());
        return Shim.ConnectResponse.newBuilder().setShimPid((int) ProcessHandle.current().pid())
                .setTaskPid(task == null ? 0 : task.pid).setVersion("coffer-shim 1").build();
    }

    private Message shutdown(Shim.ShutdownRequest r) {
        // containerd asks after each Delete; a shim with tasks left keeps serving them
        if (!tasks.isEmpty() && !r.getNow()) return Empty.getDefaultInstance();
        Thread.ofPlatform().daemon(false).start(onShutdown);
        return Empty.getDefaultInstance();
    }

    /** Stops and removes every group of this shim (the delete command and Shutdown(now) use it). */
    public void removeAll() {
        for (Task task : tasks.values()) {
            try {
                if (task.groupStarted && task.ownsGroup()) groups.rm(task.group, true);
            } catch (IOException e) {
                log.accept("group " + task.group + " not removed: " + e.getMessage());
            }
            deletePolicyFile(task);
        }
        tasks.clear();
    }

    /**
     * The pod sandbox whose shim serves the task of this bundle (a container of a Kubernetes pod),
     * or null when the task gets a shim of its own (a pod's sandbox task, a task without CRI).
     */
    public static String podToJoin(Path bundle) throws IOException {
        try {
            // only the annotations: the volumes' files are read at Create
            com.fasterxml.jackson.databind.JsonNode annotations = new com.fasterxml.jackson.databind.ObjectMapper().readTree(bundle.resolve("config.json").toFile())
                    .path("annotations");
            return PodRole.of(annotations) instanceof PodRole.Member m ? m.sandboxId() : null;
        } catch (TtrpcException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The Coffer group a containerd task of {@code namespace} runs as. */
    public static String groupOf(String namespace, String id) {
        return BundleConfig.groupName(namespace, id);
    }

    static Timestamp timestamp(Instant at) {
        return Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()).build();
    }
}
