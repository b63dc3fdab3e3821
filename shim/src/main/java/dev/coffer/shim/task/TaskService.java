package dev.coffer.shim.task;

import com.google.protobuf.Empty;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.Timestamp;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Response;
import dev.coffer.oci.store.ImageNotFoundException;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupHandle;
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
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * containerd's Task service (runtime v2, containerd.task.v2.Task) with each task a Coffer group
 * of one container: Create checks the bundle, image and policy; Start launches the group (the
 * agent enforces the policy on the container, so a refusal reaches the caller with the agent's
 * reason); Wait/State/Pids/Kill follow it; Delete stops and removes the group.
 */
public final class TaskService {
    public static final String NAME = "containerd.task.v2.Task";
    private static final Duration WAIT_SLICE = Duration.ofSeconds(30);
    private static final Duration OUTPUT_DRAIN = Duration.ofSeconds(10);

    private final GroupManager groups;
    private final Path home;
    private final ShimConfig config;
    private final String namespace;
    private final EventPublisher events;
    private final Consumer<String> log;
    private final Runnable onShutdown;
    private final Map<String, Task> tasks = new ConcurrentHashMap<>();

    /** @param onShutdown ends the shim process (after the Shutdown response went out) */
    public TaskService(ShimConfig config, String namespace, EventPublisher events, Consumer<String> log, Runnable onShutdown) {
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
        final BundleConfig bundleConfig;
        final Shim.CreateTaskRequest request;
        final CompletableFuture<Exit> exit = new CompletableFuture<>();
        TaskTypes.Status status = TaskTypes.Status.CREATED;
        GroupHandle handle;
        int pid;

        Task(String id, Path bundle, String group, BundleConfig bundleConfig, Shim.CreateTaskRequest request) {
            this.id = id;
            this.bundle = bundle;
            this.group = group;
            this.bundleConfig = bundleConfig;
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
        for (String refused : new String[]{"Pause", "Resume", "Checkpoint", "Exec", "ResizePty", "CloseIO", "Update", "Stats"}) {
            m.put(refused, request -> {
                throw new TtrpcException(Code.UNIMPLEMENTED, refused + " is not implemented by the Coffer shim yet"
                        + " (implemented: Create, Start, State, Wait, Kill, Delete, Pids, Connect, Shutdown)");
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

    private static void noExec(String execId) throws TtrpcException {
        if (!execId.isEmpty()) {
            throw new TtrpcException(Code.NOT_FOUND, "exec process " + execId + " not found: the Coffer shim runs no exec processes yet");
        }
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
        BundleConfig bundle = BundleConfig.read(Path.of(r.getBundle()));
        String group = BundleConfig.groupName(namespace, r.getId());
        bundle.groupSpec(group); // checked now so a bad process fails Create, not Start
        try (ImageStore store = ImageStore.open(home)) {
            store.resolve(bundle.image());
        } catch (ImageNotFoundException e) {
            throw new TtrpcException(Code.NOT_FOUND, "image " + bundle.image() + " is not in the Coffer home " + home
                    + ": " + e.getMessage() + "; import it with `coffer image import`");
        } catch (IOException e) {
            throw new TtrpcException(Code.INTERNAL, "the Coffer image store at " + home + " cannot be read: " + e.getMessage());
        }
        Task task = new Task(r.getId(), Path.of(r.getBundle()), group, bundle, r);
        if (tasks.putIfAbsent(r.getId(), task) != null) {
            throw new TtrpcException(Code.ALREADY_EXISTS, "task " + r.getId() + " already exists in this shim");
        }
        events.publish(EventPublisher.TASK_CREATE, TaskEvents.TaskCreate.newBuilder().setContainerId(r.getId())
                .setBundle(r.getBundle()).addAllRootfs(r.getRootfsList())
                .setIo(TaskEvents.TaskIO.newBuilder().setStdin(r.getStdin()).setStdout(r.getStdout()).setStderr(r.getStderr()))
                .build());
        log.accept("created task " + r.getId() + " as group " + group + " (image " + bundle.image() + ")");
        return Shim.CreateTaskResponse.newBuilder().setPid(0).build();
    }

    private Message start(Shim.StartRequest r) throws TtrpcException {
        noExec(r.getExecId());
        Task task = task(r.getId());
        synchronized (task) {
            if (task.status != TaskTypes.Status.CREATED) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected task " + task.id + " to be created, found it "
                        + task.status.name().toLowerCase() + "; a task starts once");
            }
            RunOptions options = RunOptions.defaults().withIsolation(config.isolation()).withTee(config.tee())
                    .withAgentEnvironment(Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")));
            try {
                options = options.withPolicy(policyFor(task));
                task.handle = groups.run(task.bundleConfig.groupSpec(task.group, config.allowUnencryptedScratch()), options);
            } catch (IOException e) {
                // nothing of the group is left: GroupManager.run removes what it made when it fails
                task.status = TaskTypes.Status.STOPPED;
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
            task.status = TaskTypes.Status.RUNNING;
            try {
                ContainerRecord c = groups.status(task.group).containers().getFirst();
                task.pid = c.pid() == null ? 0 : c.pid().intValue();
            } catch (IOException e) {
                log.accept("task " + task.id + ": container pid unknown: " + e.getMessage());
            }
            Thread.ofVirtual().name("task-" + task.id).start(() -> follow(task));
            events.publish(EventPublisher.TASK_START, TaskEvents.TaskStart.newBuilder().setContainerId(task.id).setPid(task.pid).build());
            return Shim.StartResponse.newBuilder().setPid(task.pid).build();
        }
    }

    /** The policy for the agent: the bundle's annotation (written next to the group), else the shim's default. */
    private String policyFor(Task task) throws IOException {
        if (task.bundleConfig.policyText() == null) return config.policy();
        Path file = policyFile(task);
        Files.createDirectories(file.getParent());
        Files.writeString(file, task.bundleConfig.policyText(), StandardCharsets.UTF_8);
        return file.toString();
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
        Thread copier = Thread.ofVirtual().name("stdout-" + task.id).start(() -> copyOutput(task));
        int status = exitStatus(task);
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

    private void copyOutput(Task task) {
        try (OutputStream out = openFifo(task.request.getStdout());
             OutputStream err = openFifo(task.request.getStderr())) {
            // the agent's log interleaves stdout and stderr: all of it goes to stdout; stderr only closes
            groups.logs(task.group, BundleConfig.CONTAINER, true, line -> {
                try {
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
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
                ContainerRecord c = status.containers().getFirst();
                if (c.exitCode() != null) return c.exitCode();
                if (status.status().equals("stopped")) return 255; // stopped with the container's end unknown
                c = task.handle.waitFor(BundleConfig.CONTAINER, WAIT_SLICE);
                if (c.exitCode() != null) return c.exitCode();
            } catch (IOException e) {
                log.accept("task " + task.id + ": exit status unknown: " + e.getMessage());
                return 255;
            }
        }
    }

    private Message await(Shim.WaitRequest r) throws TtrpcException {
        noExec(r.getExecId());
        Task task = task(r.getId());
        Exit exit = task.exit.join();
        return Shim.WaitResponse.newBuilder().setExitStatus(exit.status()).setExitedAt(timestamp(exit.at())).build();
    }

    private Message state(Shim.StateRequest r) throws TtrpcException {
        noExec(r.getExecId());
        Task task = task(r.getId());
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
        noExec(r.getExecId());
        Task task = task(r.getId());
        TaskTypes.Status status;
        synchronized (task) {
            status = task.status;
            if (status == TaskTypes.Status.CREATED) {
                // never launched: nothing runs, the task simply ends
                task.status = TaskTypes.Status.STOPPED;
                task.exit.complete(new Exit(128 + r.getSignal(), Instant.now()));
                return Empty.getDefaultInstance();
            }
        }
        if (status == TaskTypes.Status.STOPPED) {
            throw new TtrpcException(Code.NOT_FOUND, "process of task " + task.id + " already finished");
        }
        // SIGKILL ends it at once; any other signal gets the group's grace period before SIGKILL
        Duration grace = r.getSignal() == 9 ? Duration.ZERO : GroupManager.DEFAULT_GRACE;
        try {
            groups.stop(task.group, grace);
        } catch (IOException e) {
            throw new TtrpcException(codeOf(e), "task " + task.id + " was not stopped: " + e.getMessage(), e);
        }
        return Empty.getDefaultInstance();
    }

    private Message delete(Shim.DeleteRequest r) throws TtrpcException {
        noExec(r.getExecId());
        Task task = task(r.getId());
        synchronized (task) {
            if (task.status == TaskTypes.Status.RUNNING) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected task " + task.id + " to be stopped before deletion, "
                        + "found it running; kill it first");
            }
        }
        if (task.handle != null) {
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
                if (task.handle != null) groups.rm(task.group, true);
            } catch (IOException e) {
                log.accept("group " + task.group + " not removed: " + e.getMessage());
            }
            deletePolicyFile(task);
        }
        tasks.clear();
    }

    /** The Coffer group a containerd task of {@code namespace} runs as. */
    public static String groupOf(String namespace, String id) {
        return BundleConfig.groupName(namespace, id);
    }

    static Timestamp timestamp(Instant at) {
        return Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()).build();
    }
}
