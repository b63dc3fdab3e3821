package dev.coffer.agent.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.container.AgentException;
import dev.coffer.agent.container.ContainerService;
import dev.coffer.agent.container.ResourceLimits;
import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.enforce.Decision;
import dev.coffer.policy.enforce.DecisionLogEntry;
import dev.coffer.policy.enforce.EnforcementRequest;
import dev.coffer.policy.enforce.MetadataAction;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.enforce.SeccompDefault;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent's side of policy enforcement (DESIGN.md §1, §4): turns each host {@link Request} into
 * the {@link EnforcementRequest} the policy judges — with the facts only the agent knows (the
 * user the image resolves to, where a sandbox volume really lives, the container's own env and
 * working directory for exec) — and hands out {@link Verdict}s that the request handler commits
 * once the host operation succeeded or rolls back when it failed.
 *
 * <p>Every request but the protocol's ping handshake is an enforcement point (the points are
 * declared once, in {@link dev.coffer.policy.enforce.EnforcementPoint}): start_container runs only
 * what a committed create_container decision allowed, read_logs is the container's stdio and is
 * allowed only where that decision said {@code allow_stdio_access}, read_decision_log is runtime
 * logging, and get_report, wait_container and shutdown_sandbox have defaults a policy can change.
 * What the decision returns is what runs: its {@code env_list} and {@code caps_list}, never the
 * host's lists.
 */
public final class Enforcer {
    public static final String ALLOW_ALL = "allow-all";

    private final PolicyEnforcer policy;
    private final Map<String, Boolean> stdioAccess = new ConcurrentHashMap<>();

    public Enforcer(PolicyEnforcer policy) {
        this.policy = policy;
    }

    /** "allow-all" or "policy sha256:HEX": what the agent reports and the group state records. */
    public String name() {
        return policy.policySha256().isEmpty() ? ALLOW_ALL : "policy sha256:" + policy.policySha256();
    }

    public String policySha256() {
        return policy.policySha256();
    }

    public boolean debuggable() {
        return policy.debuggable();
    }

    public List<DecisionLogEntry> decisionLog() {
        return policy.decisionLog();
    }

    /**
     * The outcome for one request. {@code decision} is null for requests that are not
     * enforcement points; {@code request} is what the agent must act on (for create and exec, the
     * environment the policy allowed, which may have dropped variables).
     */
    public record Verdict(Request request, Decision decision, String denial) {
        public boolean allowed() {
            return denial == null;
        }
    }

    /**
     * Judges {@code request} against the committed policy state. Changes nothing: an allowed
     * verdict must be passed to {@link #commit} or {@link #rollback}.
     *
     * @throws AgentException (invalid) when the request cannot even be stated as policy input
     */
    public Verdict decide(Request request, ContainerService sandbox) {
        EnforcementRequest input;
        try {
            input = toPolicyInput(request, sandbox);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw AgentException.invalidRequest("expected a complete " + request.enforcementPoint() + " request, found "
                    + e.getMessage());
        }
        if (input == null) {
            return new Verdict(request, null, null);
        }
        Decision d = policy.decide(input);
        if (!d.allowed()) {
            return new Verdict(request, d, d.reason());
        }
        return new Verdict(withAllowedEnv(request, d), d, null);
    }

    /** The host operation of an allowed verdict succeeded: the policy state moves on. */
    public void commit(Verdict v) {
        if (v.decision() == null) return;
        // recorded before the commit: nothing can reach this container before its create is committed,
        // so exec never finds a committed container without its stdio setting
        if (v.request() instanceof Request.CreateContainer c) {
            stdioAccess.put(c.containerID(), v.decision().allowStdioAccess());
        }
        try {
            policy.commit(v.decision());
        } catch (RuntimeException e) {
            if (v.request() instanceof Request.CreateContainer c) stdioAccess.remove(c.containerID());
            throw e;
        }
    }

    /** The host operation failed: the policy state stays as if the request was never made. */
    public void rollback(Verdict v) {
        if (v.decision() != null) policy.rollback(v.decision());
    }

    /**
     * Whether the committed create_container of {@code containerID} allowed stdio access (hcsshim's
     * {@code allow_stdio_access}): exec returns a process's output only then. False for a container
     * whose create is not committed.
     */
    public boolean stdioAccess(String containerID) {
        return containerID != null && Boolean.TRUE.equals(stdioAccess.get(containerID));
    }

    /**
     * The capabilities a container must get: the ones the create_container decision returned
     * ({@code caps_list}: the policy's grant under allow_capability_dropping), or when a policy's
     * own rule returns none, the sets the policy judged. Never the host's list as such.
     */
    public static EnforcementRequest.Capabilities capabilities(Verdict v) {
        EnforcementRequest.Capabilities decided = v.decision() == null ? null : v.decision().capabilities();
        if (decided != null) return decided;
        if (v.decision() != null && v.decision().input().get("capabilities") instanceof JsonNode caps
                && caps.isObject()) {
            return new EnforcementRequest.Capabilities(strings(caps.get("bounding")), strings(caps.get("effective")),
                    strings(caps.get("inheritable")), strings(caps.get("permitted")), strings(caps.get("ambient")));
        }
        throw new IllegalStateException("a create_container verdict without a decision");
    }

    /**
     * The resource limits of the policy containers a create_container decision matched (Coffer's
     * {@code limits}): the strictest of them where they differ, none where the policy sets none.
     */
    public static ResourceLimits limits(Verdict v) {
        if (v.decision() == null) return ResourceLimits.NONE;
        long memory = 0;
        long pids = 0;
        for (MetadataAction a : v.decision().delta()) {
            if (!a.name().equals("matches") || a.value() == null || !a.value().isArray()) continue;
            for (JsonNode candidate : a.value()) {
                JsonNode l = candidate.path("limits");
                memory = strictest(memory, l.path("memory_bytes").asLong(0));
                pids = strictest(pids, l.path("pids").asLong(0));
            }
        }
        return new ResourceLimits(memory, pids);
    }

    private static long strictest(long a, long b) {
        if (a <= 0) return Math.max(b, 0);
        if (b <= 0) return a;
        return Math.min(a, b);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) array.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static Request withAllowedEnv(Request request, Decision d) {
        return switch (request) {
            case Request.CreateContainer c -> new Request.CreateContainer(c.containerID(), c.rootfs(), c.argList(),
                    d.envList(), c.workingDir(), c.user(), c.additionalGids(), c.mounts(), c.capabilities(), c.noNewPrivileges(), c.hostname());
            case Request.ExecInContainer e when e.envList() != null && !e.envList().isEmpty() ->
                    new Request.ExecInContainer(e.containerID(), e.argList(), d.envList(), e.workingDir(), e.timeoutMillis(),
                            e.execID(), e.stdin(), e.terminal());
            default -> request;
        };
    }

    /** Azure's input for the request, or null for the ping handshake, the one request that is no enforcement point. */
    static EnforcementRequest toPolicyInput(Request request, ContainerService sandbox) {
        return switch (request) {
            case Request.Ping p -> null;
            case Request.StartContainer s -> new EnforcementRequest.StartContainer(s.containerID());
            case Request.WaitContainer w -> new EnforcementRequest.WaitContainer(w.containerID());
            case Request.ReadLogs r -> new EnforcementRequest.ReadLogs(r.containerID());
            case Request.ShutdownSandbox s -> new EnforcementRequest.ShutdownSandbox();
            case Request.GetReport g -> new EnforcementRequest.GetReport();
            case Request.ReadDecisionLog r -> new EnforcementRequest.ReadDecisionLog();
            case Request.GetProperties p -> new EnforcementRequest.GetProperties();
            case Request.MountDevice m -> new EnforcementRequest.MountDevice(m.target(), m.deviceHash());
            case Request.UnmountDevice u -> new EnforcementRequest.UnmountDevice(u.target());
            // our protocol lists layers base first; Azure's input is overlayfs lowerdir order, top-most first
            case Request.MountOverlay m -> new EnforcementRequest.MountOverlay(m.containerID(),
                    m.layerPaths() == null ? null : m.layerPaths().reversed(), m.target());
            case Request.UnmountOverlay u -> new EnforcementRequest.UnmountOverlay(u.target());
            case Request.CreateContainer c -> createInput(c, sandbox);
            case Request.ExecInContainer e -> {
                ContainerService.ProcessDefaults defaults = sandbox.processDefaults(e.containerID());
                List<String> env = e.envList() == null || e.envList().isEmpty() ? defaults.envList() : e.envList();
                String cwd = e.workingDir() == null || e.workingDir().isBlank() ? defaults.workingDir() : e.workingDir();
                // stdin and terminal are stated only for a streamed exec: a run-to-completion one has neither
                yield e.streaming()
                        ? new EnforcementRequest.ExecInContainer(e.containerID(), e.argList(), env, cwd, null, null, null, null,
                                null, e.stdin(), e.terminal())
                        : new EnforcementRequest.ExecInContainer(e.containerID(), e.argList(), env, cwd);
            }
            case Request.WriteExecStdin w -> new EnforcementRequest.WriteExecStdin(w.containerID());
            case Request.ReadExecOutput r -> new EnforcementRequest.ReadExecOutput(r.containerID());
            // an exec process is judged by its own command against the container's exec_processes (Azure's isInitProcess false)
            case Request.SignalContainerProcess s -> s.execID() == null
                    ? new EnforcementRequest.SignalContainerProcess(s.containerID(), s.signal(), true, List.of())
                    : new EnforcementRequest.SignalContainerProcess(s.containerID(), s.signal(), false,
                            sandbox.execArgList(s.containerID(), s.execID()));
            case Request.ShutdownContainer s -> new EnforcementRequest.ShutdownContainer(s.containerID());
            case Request.ScratchMount m -> new EnforcementRequest.ScratchMount(m.target(), m.encrypted());
            // the key is the host's own and never part of a decision (nor the decision log)
            case Request.FormatEncryptedVolume f -> new EnforcementRequest.FormatEncryptedVolume(f.integrity());
            // the device is where the agent reads the ciphertext, not something the policy pins (see the request)
            case Request.MountEncryptedVolume m -> new EnforcementRequest.MountEncryptedVolume(m.name(), m.source(), m.key(),
                    m.authority(), m.vault(), m.readOnly(), m.headerDigest(), m.integrity());
        };
    }

    private static EnforcementRequest createInput(Request.CreateContainer c, ContainerService sandbox) {
        ContainerService.ResolvedUser user = sandbox.resolveUserForPolicy(c.containerID(), c.user(), c.additionalGids());
        List<EnforcementRequest.Mount> mounts = new ArrayList<>();
        ContainerService.checkContentMounts(c.mounts() == null ? List.of() : c.mounts());
        for (Request.Mount m : c.mounts() == null ? List.<Request.Mount>of() : c.mounts()) {
            mounts.add(new EnforcementRequest.Mount(m.destination(), sandbox.mountSourceForPolicy(c.containerID(), m),
                    m.type() == null ? "bind" : m.type(), m.options() == null ? List.of() : m.options(), ContainerService.mountFilesForPolicy(m)));
        }
        List<String> caps = c.capabilities() == null ? ContainerService.defaultCapabilities() : c.capabilities();
        String cwd = c.workingDir() == null || c.workingDir().isBlank() ? "/" : c.workingDir();
        return new EnforcementRequest.CreateContainer(c.containerID(), c.argList(), c.envList() == null ? List.of() : c.envList(),
                cwd, mounts, false, c.noNewPrivileges(),
                new EnforcementRequest.IdName(Integer.toString(user.user().id()), user.user().name()),
                user.groups().stream().map(g -> new EnforcementRequest.IdName(Integer.toString(g.id()), g.name())).toList(),
                "0022", new EnforcementRequest.Capabilities(caps, caps, List.of(), caps, List.of()),
                // the agent always applies its runtime default profile, and says which by its hash
                SeccompDefault.sha256(), List.of(), c.hostname() == null || c.hostname().isBlank() ? c.containerID() : c.hostname());
    }
}
