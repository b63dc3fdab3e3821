package dev.coffer.runtime.group;

import dev.coffer.agent.container.Mounts;
import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.AgentDeadlines;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.oci.store.ImageNotFoundException;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.runtime.sandbox.Sandbox;
import dev.coffer.policy.spec.GroupSpec;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Lifecycle of container groups: run, ps, logs, exec, stop, rm. State lives under
 * {@code $COFFER_HOME/groups/NAME/} (state.json, policy.rego, agent.log, agent.sock, sandbox/
 * with the agent's mounts, bundles, container logs and policy decision log) and survives the
 * process that started the group. Layer disks (ext4 + dm-verity) are cached by diffID under
 * {@code $COFFER_HOME/layers}.
 */
public final class GroupManager {
    /** The grace of a stop that names none: the agent's own default. */
    public static final Duration DEFAULT_GRACE = Request.DEFAULT_GRACE;
    /** The simulated secure processor of a Coffer home: {@code $COFFER_HOME/sim-tee}. */
    public static final String SIM_TEE_DIR = "sim-tee";
    private static final Map<String, ReentrantLock> LOCAL_LOCKS = new ConcurrentHashMap<>();

    private final Path home;
    private final Path groups;

    /** The host's deadlines for the agent's answers; null: the environment's, read at each use (see {@link #deadlines}). */
    private final AgentDeadlines deadlines;

    public GroupManager(Path cofferHome) {
        this(cofferHome, null);
    }

    /**
     * A manager whose waits for the agent's answers (the stop's ping probe among them) follow
     * {@code deadlines} rather than the environment ({@value AgentDeadlines#QUERY_ENV} and its
     * siblings): for an embedder with its own, and for tests that make an agent silent on purpose.
     */
    public GroupManager(Path cofferHome, AgentDeadlines deadlines) {
        this.home = cofferHome.toAbsolutePath();
        this.groups = home.resolve("groups");
        this.deadlines = deadlines;
    }

    /**
     * The deadlines in force. Read from the environment at each use when none were given, so a
     * malformed variable fails the command that waits on the agent, with the variable's name, as
     * the agent client's own connections do.
     */
    AgentDeadlines deadlines() {
        return deadlines != null ? deadlines : AgentDeadlines.fromEnvironment(System.getenv());
    }

    /**
     * @param alreadyStopped true when the group was stopped before this call (a no-op)
     * @param forcedBecause why the stop was forced (the agent did not answer in time, so the sandbox was killed and
     *                      cleaned up from the host), or null when the agent stopped everything itself
     */
    public record StopOutcome(String name, boolean alreadyStopped, List<ContainerRecord> containers, String forcedBecause) {
        public StopOutcome(String name, boolean alreadyStopped, List<ContainerRecord> containers) {
            this(name, alreadyStopped, containers, null);
        }

        /** True when the agent did not answer and the sandbox was killed instead. */
        public boolean forced() {
            return forcedBecause != null;
        }
    }

    public Path groupDir(String name) {
        return groups.resolve(name);
    }

    // ---- run -----------------------------------------------------------------------------

    /**
     * Resolves the images, prepares their layers, starts the sandbox's agent and has it mount,
     * create and start every container in spec order. On failure everything started is stopped
     * and the group directory removed, and the error says which step failed and why.
     */
    public GroupHandle run(GroupSpec spec, RunOptions options) throws IOException {
        return run(spec, options, List.of());
    }

    /**
     * Runs the group with the layer disks of {@code joinableImages} attached too, besides its
     * containers' own: a Kubernetes pod starts with its sandbox container alone, and its other
     * containers join later ({@link #createContainer}); the agent mounts only disks the sandbox was
     * launched with, and only those whose dm-verity root hash the policy pins.
     */
    public GroupHandle run(GroupSpec spec, RunOptions options, List<String> joinableImages) throws IOException {
        try (GroupLock lock = lock(spec.name())) {
            Path dir = groupDir(spec.name());
            if (Files.exists(dir.resolve("state.json"))) {
                GroupStatus existing = status(spec.name());
                throw new GroupException("expected no group named " + spec.name() + ", found one (" + existing.status()
                        + ", created " + existing.createdAt() + "); "
                        + (existing.status().equals(GroupState.STOPPED) ? "remove it with `coffer rm " + spec.name() + "`"
                        : "stop it with `coffer stop " + spec.name() + "` or choose another name"));
            }
            // the steps of a group's life, each with the state it owns: prepare touches nothing, launch owns the
            // group directory and the sandbox, start the group's state and containers
            PreparedGroup prepared = PreparedGroup.of(home, spec, options, joinableImages);
            LaunchedGroup launched = LaunchedGroup.launch(prepared, dir, home);
            try {
                return GroupStart.start(this, launched);
            } catch (IOException | RuntimeException e) {
                launched.abandon();
                throw new GroupException("group " + spec.name() + " did not start: " + e.getMessage(), e);
            }
        }
    }

    // ---- containers joining a running group (a pod's containers, through the containerd shim) ----

    /**
     * Adds a container to a running group, as a Kubernetes pod's containers join the sandbox the
     * pod's first task started: the agent mounts the image's layers it has not mounted yet (each
     * checked against the dm-verity root hash the policy pins), its overlay, and creates the
     * container under the group's policy, which decides exactly as for the containers of
     * {@code coffer run}. Nothing is started. When the agent refuses, the error carries its
     * reason and the group's state is unchanged.
     *
     * @param requiredManifestDigest the image's manifest digest ("sha256:HEX") the caller resolved
     *                               (containerd's CRI), or null; Coffer's image of that name must be
     *                               exactly this one, so a host that swapped an image under the same
     *                               name is refused
     */
    public ContainerRecord createContainer(String group, GroupSpec.ContainerSpec c, String requiredManifestDigest) throws IOException {
        return createContainer(group, c, requiredManifestDigest, List.of());
    }

    /**
     * As {@link #createContainer(String, GroupSpec.ContainerSpec, String)}, with {@code contentMounts}:
     * volumes whose files the caller read from the host (a pod's ConfigMaps, Secrets, projected and
     * downwardAPI volumes, {@code sandbox:///files/KIND/NAME} with their files), which the agent
     * copies into the sandbox after its policy checked them.
     */
    public ContainerRecord createContainer(String group, GroupSpec.ContainerSpec c, String requiredManifestDigest,
                                           List<Request.Mount> contentMounts) throws IOException {
        try (GroupLock lock = lock(group)) {
            GroupState state = readState(group);
            if (!state.status().equals(GroupState.RUNNING)) {
                throw new GroupException("expected group " + group + " to be running before container " + c.name()
                        + " joins it, found it " + state.status());
            }
            if (state.containers().stream().anyMatch(r -> r.name().equals(c.name()))) {
                throw new GroupException("expected no container named " + c.name() + " in group " + group + ", found one;"
                        + " container names are unique within a group");
            }
            Sandbox sandbox = runningSandbox(state);
            LocalImage image;
            Map<String, LayerDisk> disks = new LinkedHashMap<>();
            java.util.Set<String> mounted = new java.util.HashSet<>();
            try (ImageStore store = ImageStore.open(home)) {
                try {
                    image = store.resolve(c.image());
                } catch (ImageNotFoundException e) {
                    throw new GroupException("container " + c.name() + ": " + e.getMessage(), e);
                }
                if (requiredManifestDigest != null && !image.manifestDigest().toString().equals(requiredManifestDigest)) {
                    throw new GroupException("container " + c.name() + ": expected image " + c.image() + " to be "
                            + requiredManifestDigest + " (the digest the caller resolved), found " + image.manifestDigest()
                            + " in the Coffer home " + home + "; the two stores hold different images under one name:"
                            + " import the image the caller runs into Coffer (`coffer image import`) or pull it again");
                }
                for (ContainerRecord r : state.containers()) {
                    for (LayerBlob l : store.resolve(r.imageId()).layers()) mounted.add(l.diffId().hex());
                }
                LayerDiskCache cache = new LayerDiskCache(home.resolve("layers"));
                for (LayerBlob layer : image.layers()) {
                    String hex = layer.diffId().hex();
                    if (mounted.contains(hex) || disks.containsKey(hex)) continue;
                    disks.put(hex, cache.getOrBuild("sha256:" + hex, () -> store.openLayer(layer)));
                }
            }
            if (!disks.isEmpty() && !sandbox.logsOnHost()) {
                // a microVM's disks are attached when it boots; hot-plugging a new layer is not built yet
                throw new GroupException("container " + c.name() + ": its image has layers the " + state.isolation()
                        + " sandbox of group " + group + " was not launched with; only the process sandbox takes new layers"
                        + " after launch");
            }
            try (AgentClient agent = sandbox.connect()) {
                ContainerSetup setup = new ContainerSetup(sandbox, agent);
                setup.mountLayers(disks);
                // a joining container's volumes are the sandbox's emptyDirs (no encrypted volumes join a running group)
                // and the host-supplied files it brings
                List<Request.Mount> mounts = new ArrayList<>(ContainerSetup.mounts(c, java.util.Set.of()));
                mounts.addAll(contentMounts);
                ContainerRecord record = setup.create(group, c, image, mounts);
                List<ContainerRecord> all = new ArrayList<>(state.containers());
                all.add(record);
                state.withStatus(state.status(), null, all).write(groupDir(group).resolve("state.json"));
                return record;
            } catch (AgentClient.AgentCallException e) {
                throw new GroupException("container " + c.name() + " was not created in group " + group + ": "
                        + e.failure().reason(), e);
            }
        }
    }

    /** Starts a container {@link #createContainer} added; the agent's policy decides as for any start. */
    public ContainerRecord startContainer(String group, String container) throws IOException {
        try (GroupLock lock = lock(group)) {
            GroupState state = readState(group);
            ContainerRecord c = container(state, container);
            Sandbox sandbox = runningSandbox(state);
            try (AgentClient agent = sandbox.connect()) {
                Result.ContainerStatus s = agent.call(new Request.StartContainer(container), Result.ContainerStatus.class);
                ContainerRecord started = c.with(s.state(), s.pid(), s.exitCode());
                replace(state, started);
                return started;
            } catch (AgentClient.AgentCallException e) {
                throw new GroupException("container " + container + " did not start: " + e.failure().reason(), e);
            }
        }
    }

    /**
     * Stops one container of a running group (SIGTERM, SIGKILL after {@code grace}); the agent
     * deletes it and its overlay. The group and its other containers keep running; the record
     * stays (with the exit code) until {@link #forgetContainer}.
     */
    public ContainerRecord stopContainer(String group, String container, Duration grace) throws IOException {
        GroupState state = readState(group);
        ContainerRecord c = container(state, container);
        if (c.exitCode() != null || state.status().equals(GroupState.STOPPED)) return c;
        Sandbox sandbox = runningSandbox(state);
        try (AgentClient agent = sandbox.connect()) {
            Result.ContainerStatus s = agent.call(new Request.ShutdownContainer(container, grace.toMillis()), Result.ContainerStatus.class);
            ContainerRecord stopped = c.with("exited", s.pid() != null ? s.pid() : c.pid(), s.exitCode());
            try (GroupLock lock = lock(group)) {
                replace(readState(group), stopped);
            }
            return stopped;
        } catch (AgentClient.AgentCallException e) {
            throw new GroupException("container " + container + " was not stopped: " + e.failure().reason(), e);
        }
    }

    /** Drops a stopped container's record from a running group (a pod's container removed). */
    public void forgetContainer(String group, String container) throws IOException {
        try (GroupLock lock = lock(group)) {
            GroupState state = readState(group);
            ContainerRecord c = container(state, container);
            if (c.exitCode() == null && !state.status().equals(GroupState.STOPPED)) {
                throw new GroupException("expected container " + container + " of group " + group + " to be stopped, found it "
                        + c.state() + "; stop it first");
            }
            List<ContainerRecord> rest = state.containers().stream().filter(r -> !r.name().equals(container)).toList();
            state.withStatus(state.status(), state.stoppedAt(), rest).write(groupDir(group).resolve("state.json"));
        }
    }

    private void replace(GroupState state, ContainerRecord updated) throws IOException {
        List<ContainerRecord> all = state.containers().stream().map(r -> r.name().equals(updated.name()) ? updated : r).toList();
        state.withStatus(state.status(), state.stoppedAt(), all).write(groupDir(state.name()).resolve("state.json"));
    }

    /** What the group's scratch is (encrypted or not, and why), or null for a group started before this was recorded. */
    public ScratchRecord scratch(String name) throws IOException {
        return ScratchRecord.read(groupDir(name));
    }

    /** Where the time of the group's `coffer run` went, or null for a group started before this was recorded. */
    public StartupTimes startupTimes(String name) throws IOException {
        return StartupTimes.read(groupDir(name));
    }

    /** Keeps a startup report beside the group's state, as startup-report.json, for scripts. */
    public Path writeStartupReport(String name, StartupReport report) throws IOException {
        Path file = groupDir(name).resolve("startup-report.json");
        Files.write(file, new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(report.toJson(name)));
        return file;
    }

    /**
     * The group's policy decision log, oldest first: the agent appends each decision and again
     * when its outcome (committed, rolled-back) is known; the last line of each sequence wins.
     */
    public List<dev.coffer.policy.enforce.DecisionLogEntry> policyLog(String name) throws IOException {
        GroupState state = readState(name);
        if (state.sandbox() == null) return List.of();
        pullLogs(state);
        Sandbox sandbox = attach(state);
        Path file = sandbox != null && !sandbox.logsOnHost()
                ? sandbox.logDir().resolve(dev.coffer.agent.AgentMain.DECISION_LOG)
                : Path.of(state.sandbox().agentStateDir()).resolve(dev.coffer.agent.AgentMain.DECISION_LOG);
        if (sandbox != null && !sandbox.logsOnHost() && Files.isRegularFile(refusedMarker(sandbox.logDir()))) {
            throw new GroupException("expected the agent to hand out its decision log, found it refused: "
                    + Files.readString(refusedMarker(sandbox.logDir())).strip() + "; the log stays inside the sandbox unless"
                    + " the policy allows runtime logging (`coffer policy gen --debug-mode`)");
        }
        if (!Files.isRegularFile(file)) return List.of();
        Map<Long, dev.coffer.policy.enforce.DecisionLogEntry> bySequence = new LinkedHashMap<>();
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) continue;
            try {
                var entry = dev.coffer.policy.enforce.DecisionLogEntry.fromJson(mapper.readTree(line));
                bySequence.put(entry.sequence(), entry);
            } catch (com.fasterxml.jackson.core.JacksonException | IllegalArgumentException e) {
                throw new GroupException("expected a decision log entry on line " + lineNo + " of " + file + ", found: "
                        + e.getMessage() + "; the file was damaged, remove the line to read the rest");
            }
        }
        return bySequence.values().stream()
                .sorted(java.util.Comparator.comparingLong(dev.coffer.policy.enforce.DecisionLogEntry::sequence)).toList();
    }

    // ---- ps ------------------------------------------------------------------------------

    /** A group {@link #reap} stopped, and why. */
    public record Reaped(String name, String reason) {}

    /**
     * Stops the groups nobody will stop: those whose sandbox died (kill -9 of the agent or QEMU),
     * and those started in the foreground whose `coffer run` is gone (killed with -9, so its
     * Ctrl-C handler never ran). What is left of them — processes, mounts, sockets, disks — is
     * removed as `coffer stop` would. Groups started with -d are left alone. {@code groups} is a
     * fresh {@link #list()} (the caller usually has one already, and each status asks its agent).
     */
    public List<Reaped> reap(List<GroupStatus> groups) throws IOException {
        List<Reaped> out = new ArrayList<>();
        for (GroupStatus g : groups) {
            if (g.status().equals(GroupState.STOPPED)) continue;
            String reason = null;
            if (!g.agentAlive()) {
                reason = "its sandbox (pid " + g.agentPid() + ") died without a stop";
            } else {
                GroupOwner owner = GroupOwner.read(groupDir(g.name()));
                if (owner != null && !owner.alive()) {
                    reason = "the foreground `coffer run` that owned it (pid " + owner.pid() + ") is gone";
                }
            }
            if (reason != null) {
                stop(g.name(), Duration.ofSeconds(2));
                out.add(new Reaped(g.name(), reason));
            }
        }
        return out;
    }

    /** The group outlives the process that ran it (`coffer run -d`): nobody reaps it for that. */
    public void detach(String name) throws IOException {
        GroupOwner.clear(groupDir(name));
    }

    public List<GroupStatus> list() throws IOException {
        List<GroupStatus> out = new ArrayList<>();
        if (!Files.isDirectory(groups)) return out;
        try (var dirs = Files.list(groups)) {
            for (Path d : dirs.sorted().toList()) {
                if (Files.isRegularFile(d.resolve("state.json"))) {
                    out.add(status(d.getFileName().toString()));
                }
            }
        }
        return out;
    }

    /** The group's state, refreshed from its agent when it runs; notices an agent that died. */
    public GroupStatus status(String name) throws IOException {
        GroupState state = readState(name);
        Sandbox sandbox = attach(state);
        boolean alive = sandbox != null && sandbox.agentAlive();
        List<ContainerRecord> containers = state.containers();
        String status = state.status();
        String problem = null;
        if (!status.equals(GroupState.STOPPED)) {
            if (!alive) {
                status = "agent-dead";
                problem = "the agent (pid " + state.sandbox().agentPid() + ") exited without a stop; its containers may be gone;"
                        + " see " + groupDir(name).resolve("agent.log") + " and run `coffer stop " + name + "` to clean up";
                containers = containers.stream().map(c -> c.exitCode() == null ? c.with("unknown", c.pid(), null) : c).toList();
            } else {
                try (AgentClient agent = sandbox.connect()) {
                    containers = merge(containers, agent.call(new Request.GetProperties(), Result.Properties.class).containers());
                } catch (IOException e) {
                    problem = "the agent is running but does not answer (" + e.getMessage() + ")";
                }
            }
        }
        return new GroupStatus(state.name(), status, state.isolation(), state.enforcer(), state.ociRuntime(),
                state.sandbox() == null ? 0 : state.sandbox().agentPid(), alive, state.createdAt(), state.stoppedAt(),
                containers, problem, state.policySha256() == null ? "" : state.policySha256(), state.debuggable(),
                state.layerVerification(), state.tee(), state.measurement(), state.hostData(), state.skrPort());
    }

    private static List<ContainerRecord> merge(List<ContainerRecord> recorded, List<Result.ContainerStatus> live) {
        Map<String, Result.ContainerStatus> byId = new HashMap<>();
        for (Result.ContainerStatus s : live) byId.put(s.containerID(), s);
        List<ContainerRecord> out = new ArrayList<>();
        for (ContainerRecord r : recorded) {
            Result.ContainerStatus s = byId.get(r.name());
            out.add(s == null ? r : r.with(s.state(), s.pid() != null ? s.pid() : r.pid(), s.exitCode()));
        }
        return out;
    }

    // ---- logs, exec, wait ----------------------------------------------------------------

    /** The whole log of one container so far. */
    public String readLog(String group, String container) throws IOException {
        GroupState state = readState(group);
        ContainerRecord c = container(state, container);
        pullLogs(state);
        Path log = Path.of(c.logPath());
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    /**
     * Sends log lines to {@code sink}: of one container, or of all (prefixed "[name] "). With
     * {@code follow}, keeps reading until the containers have exited or the group stopped, or
     * the calling thread is interrupted.
     */
    public void logs(String group, String container, boolean follow, Consumer<String> sink) throws IOException {
        GroupState state = readState(group);
        List<ContainerRecord> selected = container == null ? state.containers() : List.of(container(state, container));
        new LogFollower(this, group, selected, container == null && selected.size() > 1).run(follow, sink);
    }

    /** Where a container's output goes, stream by stream. */
    @FunctionalInterface
    public interface OutputSink {
        void accept(boolean stderr, byte[] bytes) throws IOException;
    }

    /**
     * Sends one container's output to {@code sink} with the stream each byte came from (the
     * agent records which ranges of the log were stderr), following it until the container
     * exited or the group stopped, or the calling thread is interrupted. {@code exited}: a
     * caller that already waits for the container's exit (the shim) says so there, and the
     * follower asks the agent nothing; null: the follower asks the agent every round.
     */
    public void followOutput(String group, String container, OutputSink sink, java.util.function.BooleanSupplier exited)
            throws IOException {
        GroupState state = readState(group);
        new LogFollower(this, group, List.of(container(state, container)), false).runStreams(sink, exited);
    }

    /**
     * Brings the host's copies of the container logs and the policy decision log up to date when
     * they live inside the sandbox (a microVM): appends what the agent has beyond the offset pulled so far (kept in
     * NAME.log.offset, since the agent counts bytes of its own file). A no-op for the process
     * sandbox, and for a stopped group or one whose agent is gone (the copies stay as they are).
     */
    void pullLogs(GroupState state) throws IOException {
        pullLogs(state, deadlines()::forRequest);
    }

    /** As {@link #pullLogs(GroupState)}, each request answered within {@code deadline} of it. */
    void pullLogs(GroupState state, java.util.function.Function<Request, Duration> deadline) throws IOException {
        if (!state.status().equals(GroupState.RUNNING) && !state.status().equals(GroupState.STARTING)) return;
        Sandbox sandbox = attach(state);
        if (sandbox == null || sandbox.logsOnHost() || !sandbox.agentAlive()) return;
        Files.createDirectories(sandbox.logDir());
        try (AgentClient agent = sandbox.connect()) {
            try {
                pull(agent, sandbox.logDir().resolve(dev.coffer.agent.AgentMain.DECISION_LOG),
                        offset -> new Request.ReadDecisionLog(offset, 1 << 20), deadline);
                Files.deleteIfExists(refusedMarker(sandbox.logDir()));
            } catch (AgentClient.AgentCallException e) {
                // a policy without runtime logging: the decision log stays in the sandbox, as the policy says
                Files.writeString(refusedMarker(sandbox.logDir()), e.failure().reason());
            }
            for (ContainerRecord c : state.containers()) {
                try {
                    pull(agent, Path.of(c.logPath()), off -> new Request.ReadLogs(c.name(), off, 1 << 20), deadline);
                } catch (AgentClient.AgentCallException e) {
                    // a policy without stdio access for this container: its log stays unread, as the policy says
                }
            }
        }
    }

    /** Where pullLogs notes that the agent refused the decision log (read_decision_log denied by the policy). */
    private static Path refusedMarker(Path logDir) {
        return logDir.resolve(dev.coffer.agent.AgentMain.DECISION_LOG + ".refused");
    }

    /** Appends to {@code copy} what the agent's file has beyond the offset pulled so far (kept beside it). */
    private static void pull(AgentClient agent, Path copy, java.util.function.LongFunction<Request> read,
                             java.util.function.Function<Request, Duration> deadline) throws IOException {
        Path offsetFile = copy.resolveSibling(copy.getFileName() + ".offset");
        long offset = Files.exists(offsetFile) ? Long.parseLong(Files.readString(offsetFile).strip()) : 0;
        for (int round = 0; round < 64; round++) { // at most 64 MiB per call
            Request request = read.apply(offset);
            Result.LogChunk chunk = agent.call(request, Result.LogChunk.class, deadline.apply(request));
            if (chunk.nextOffset() <= offset) break;
            // a short chunk is (near) the end: reading the decision log adds its own decision to it, so
            // asking again would always find a little more
            boolean atEnd = chunk.nextOffset() - offset < 64 * 1024;
            Files.writeString(copy, chunk.text(), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            offset = chunk.nextOffset();
            Files.writeString(offsetFile, Long.toString(offset));
            if (atEnd) break;
        }
    }

    /**
     * The sandbox's own log: for a microVM its serial console (kernel, init and the agent's
     * output), for the process sandbox the agent's output. Kept after the group stops.
     */
    public Path sandboxLog(String name) throws IOException {
        GroupState state = readState(name);
        return "microvm".equals(state.isolation()) ? groupDir(name).resolve("vm/console.log")
                : groupDir(name).resolve("agent.log");
    }

    /** Runs a command in a running container and returns its exit code and output. */
    public Result.ExecResult exec(String group, String container, List<String> argv, Duration timeout) throws IOException {
        GroupState state = readState(group);
        container(state, container);
        Sandbox sandbox = runningSandbox(state);
        try (AgentClient agent = sandbox.connect()) {
            return agent.call(new Request.ExecInContainer(container, argv, List.of(), null, timeout.toMillis()),
                    Result.ExecResult.class);
        } catch (AgentClient.AgentCallException e) {
            throw new GroupException(e.failure().reason(), e);
        }
    }

    /**
     * Starts {@code argv} in {@code container} as exec process {@code execID}, left running for the
     * caller to drive through the returned stream (stdin only with {@code stdin}, which the policy
     * must allow). The policy judges the start as exec_in_container; a refusal is the agent's reason.
     */
    public ExecStream startExec(String group, String container, String execID, List<String> argv, boolean stdin)
            throws IOException {
        GroupState state = readState(group);
        container(state, container);
        try (AgentClient agent = runningSandbox(state).connect()) {
            agent.call(new Request.ExecInContainer(container, argv, List.of(), null, 0, execID, stdin, false), Result.Done.class);
        }
        return new ExecStream(this, group, container, execID);
    }

    /** A connection to the agent of a running group. */
    AgentClient agentOf(String group) throws IOException {
        return runningSandbox(readState(group)).connect();
    }

    /**
     * A fresh attestation report from the group's TEE for {@code nonce} (1..32 bytes), through
     * its agent; see {@code dev.coffer.runtime.attest.GroupAttestation} for checking it.
     */
    public Result.Report report(String group, byte[] nonce) throws IOException {
        GroupState state = readState(group);
        Sandbox sandbox = runningSandbox(state);
        try (AgentClient agent = sandbox.connect()) {
            return agent.call(new Request.GetReport(java.util.HexFormat.of().formatHex(nonce)), Result.Report.class);
        } catch (AgentClient.AgentCallException e) {
            throw new GroupException("the agent of group " + group + " gave no report: " + e.failure().reason(), e);
        }
    }

    /** This home's simulated secure processor, whose launches {@code --tee sim} makes. */
    public Path simTeeDirectory() {
        return home.resolve(SIM_TEE_DIR);
    }

    /** Waits until the container exited or {@code timeout} passed, and returns its record. */
    public ContainerRecord waitFor(String group, String container, Duration timeout) throws IOException {
        GroupState state = readState(group);
        ContainerRecord c = container(state, container);
        if (state.status().equals(GroupState.STOPPED)) return c;
        Sandbox sandbox = runningSandbox(state);
        try (AgentClient agent = sandbox.connect()) {
            Result.ContainerStatus s = agent.call(new Request.WaitContainer(container, timeout.toMillis()),
                    Result.ContainerStatus.class);
            return c.with(s.state(), s.pid() != null ? s.pid() : c.pid(), s.exitCode());
        } catch (AgentClient.AgentCallException e) {
            throw new GroupException(e.failure().reason(), e);
        }
    }

    // ---- stop, rm ------------------------------------------------------------------------

    /**
     * Stops every container (SIGTERM, SIGKILL after {@code grace}), has the agent unmount
     * everything, and then removes by force whatever is left. Afterwards no process, mount or
     * overlay directory of the group remains; the state and logs do. Stopping a stopped group
     * is a no-op reported in the outcome.
     *
     * <p>Bounded whatever the agent does: an agent that does not answer (hung, dead, or a hostile
     * guest) gets {@link AgentShutdown#budget} in all, and then the sandbox is killed (QEMU, or the
     * agent and every process it started) and cleaned up from the host; the outcome says the stop
     * was forced and why.
     */
    public StopOutcome stop(String name, Duration grace) throws IOException {
        try (GroupLock lock = lock(name)) {
            GroupState state = readState(name);
            if (state.status().equals(GroupState.STOPPED)) {
                return new StopOutcome(name, true, state.containers());
            }
            Sandbox sandbox = attach(state);
            List<ContainerRecord> finals;
            String forced = null;
            if (sandbox != null && sandbox.agentAlive()) {
                AgentShutdown.Outcome agent = AgentShutdown.run(this, sandbox, state, grace);
                finals = agent.containers();
                if (agent.forcedBecause() != null) {
                    forced = agent.forcedBecause() + "; killed " + sandbox.processDescription() + " and cleaned up from the host";
                }
            } else {
                finals = state.containers().stream().map(c -> c.exitCode() == null ? c.with("unknown", c.pid(), null) : c).toList();
            }
            // an agent that answered gets time to power its sandbox off; a silent one is killed at once
            if (sandbox != null) sandbox.destroy(forced == null ? 30_000 : 0);
            List<Path> leftovers = Mounts.mountedUnder(groupDir(name));
            if (!leftovers.isEmpty()) {
                throw new GroupException("expected no mounts left after stopping " + name + ", found " + leftovers
                        + "; unmount them with `umount` and run `coffer stop " + name + "` again");
            }
            state.withStatus(GroupState.STOPPED, Instant.now().toString(), finals).write(groupDir(name).resolve("state.json"));
            GroupOwner.clear(groupDir(name));
            return new StopOutcome(name, false, finals, forced);
        }
    }

    /**
     * Removes a stopped group's directory (state and logs); {@code force} stops it first.
     *
     * @return the stop's outcome when {@code force} stopped a running group (it says whether the stop was forced), else null
     */
    public StopOutcome rm(String name, boolean force) throws IOException {
        GroupState state = readState(name);
        StopOutcome stopped = null;
        if (!state.status().equals(GroupState.STOPPED)) {
            if (!force) {
                throw new GroupException("expected group " + name + " to be stopped before removal, found it " + state.status()
                        + "; run `coffer stop " + name + "` first or `coffer rm --force " + name + "`");
            }
            stopped = stop(name, DEFAULT_GRACE);
        }
        try (GroupLock lock = lock(name)) {
            Path dir = groupDir(name);
            if (!Mounts.mountedUnder(dir).isEmpty()) {
                throw new GroupException("expected nothing mounted under " + dir + ", found " + Mounts.mountedUnder(dir)
                        + "; run `coffer stop " + name + "` to clean up");
            }
            Mounts.deleteTree(dir);
        }
        Files.deleteIfExists(groups.resolve("." + name + ".lock"));
        return stopped;
    }

    // ---- helpers -------------------------------------------------------------------------

    GroupState readState(String name) throws IOException {
        if (name == null || !name.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) {
            throw new GroupException("expected a group name of lowercase letters, digits and '-', found \"" + name + "\"");
        }
        Path file = groupDir(name).resolve("state.json");
        if (!Files.isRegularFile(file)) {
            throw new GroupException("expected a group named " + name + ", found none under " + groups
                    + "; `coffer ps` lists the groups there are");
        }
        return GroupState.read(file);
    }

    private static ContainerRecord container(GroupState state, String name) throws GroupException {
        for (ContainerRecord c : state.containers()) {
            if (c.name().equals(name)) return c;
        }
        throw new GroupException("expected a container named " + name + " in group " + state.name() + ", found none; it has: "
                + String.join(", ", state.containers().stream().map(ContainerRecord::name).toList()));
    }

    Sandbox attach(GroupState state) {
        if (state.sandbox() == null) return null;
        try {
            return SandboxBackends.byName(state.sandbox().backend()).attach(state.sandbox());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private Sandbox runningSandbox(GroupState state) throws GroupException {
        if (state.status().equals(GroupState.STOPPED)) {
            throw new GroupException("expected group " + state.name() + " to be running, found it stopped; start it again with"
                    + " `coffer run`");
        }
        Sandbox sandbox = attach(state);
        if (sandbox == null || !sandbox.agentAlive()) {
            throw new GroupException("expected the agent of group " + state.name() + " to be running, found it gone; "
                    + "run `coffer stop " + state.name() + "` to clean up");
        }
        return sandbox;
    }

    private GroupLock lock(String name) throws IOException {
        Files.createDirectories(groups);
        ReentrantLock local = LOCAL_LOCKS.computeIfAbsent(name, n -> new ReentrantLock());
        local.lock();
        if (local.getHoldCount() > 1) {
            // already held by this thread; a second channel on the lock file would release the
            // first lock when closed (POSIX record locks are per process)
            return new GroupLock(local, null, null);
        }
        try {
            FileChannel ch = FileChannel.open(groups.resolve("." + name + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            return new GroupLock(local, ch, ch.lock());
        } catch (IOException | RuntimeException e) {
            local.unlock();
            throw e;
        }
    }

    /** Serializes run/stop/rm of one group across threads and processes. */
    private record GroupLock(ReentrantLock local, FileChannel channel, FileLock fileLock) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try {
                if (fileLock != null) fileLock.release();
                if (channel != null) channel.close();
            } finally {
                local.unlock();
            }
        }
    }

    static long fileLength(Path p) {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            return f.length();
        } catch (IOException e) {
            return 0;
        }
    }
}
