package dev.coffer.policy.enforce;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every enforcement point, declared once: its name (the rule {@code data.policy.<name>} and the
 * agent protocol's request type), the request record that is its input shape, the result the
 * framework's rule gives when none of its conditions hold (its {@code default}), which family it
 * belongs to, and whether generated policies bind it. Every other list (the codec, the
 * enforcer, the simulator, the explainer, the bindings {@code coffer policy gen} writes, the
 * agent's wire names) is derived from this table; a test checks that {@code framework.rego} has a
 * rule with this default for every entry. Adding a point is one entry here, its request record
 * and its rule in framework.rego.
 */
public enum EnforcementPoint {
    MOUNT_DEVICE("mount_device", EnforcementRequest.MountDevice.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    UNMOUNT_DEVICE("unmount_device", EnforcementRequest.UnmountDevice.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    MOUNT_OVERLAY("mount_overlay", EnforcementRequest.MountOverlay.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    UNMOUNT_OVERLAY("unmount_overlay", EnforcementRequest.UnmountOverlay.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    CREATE_CONTAINER("create_container", EnforcementRequest.CreateContainer.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    EXEC_IN_CONTAINER("exec_in_container", EnforcementRequest.ExecInContainer.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    EXEC_EXTERNAL("exec_external", EnforcementRequest.ExecExternal.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    SIGNAL_CONTAINER_PROCESS("signal_container_process", EnforcementRequest.SignalContainerProcess.class, Origin.ACI,
            Binding.ALWAYS, Default.DENY),
    SHUTDOWN_CONTAINER("shutdown_container", EnforcementRequest.ShutdownContainer.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    GET_PROPERTIES("get_properties", EnforcementRequest.GetProperties.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    DUMP_STACKS("dump_stacks", EnforcementRequest.DumpStacks.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    RUNTIME_LOGGING("runtime_logging", EnforcementRequest.RuntimeLogging.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    LOAD_FRAGMENT("load_fragment", EnforcementRequest.LoadFragment.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    SCRATCH_MOUNT("scratch_mount", EnforcementRequest.ScratchMount.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    SCRATCH_UNMOUNT("scratch_unmount", EnforcementRequest.ScratchUnmount.class, Origin.ACI, Binding.ALWAYS, Default.DENY),
    /** Never allowed: the enforcer refuses it before any rule runs (the policy's hash is HOST_DATA). */
    SET_POLICY("set_policy", EnforcementRequest.SetPolicy.class, Origin.COFFER, Binding.NEVER, Default.DENY),
    /** Bound only by policies that declare encrypted volumes, so other groups refuse it. */
    MOUNT_ENCRYPTED_VOLUME("mount_encrypted_volume", EnforcementRequest.MountEncryptedVolume.class, Origin.COFFER,
            Binding.WITH_ENCRYPTED_VOLUMES, Default.DENY),
    /**
     * Formats the disk attached for a new volume: never bound by generated policies and denied by
     * the framework, so only a sandbox launched to create a volume, whose policy binds it, may.
     */
    FORMAT_ENCRYPTED_VOLUME("format_encrypted_volume", EnforcementRequest.FormatEncryptedVolume.class, Origin.COFFER,
            Binding.NEVER, Default.DENY),
    /** Runs what a committed create_container wrote: never before that decision is committed, never twice. */
    START_CONTAINER("start_container", EnforcementRequest.StartContainer.class, Origin.COFFER, Binding.ALWAYS, Default.DENY),
    WAIT_CONTAINER("wait_container", EnforcementRequest.WaitContainer.class, Origin.COFFER, Binding.ALWAYS, Default.DENY),
    /** The container's stdio: only where the committed create said {@code allow_stdio_access}. */
    READ_LOGS("read_logs", EnforcementRequest.ReadLogs.class, Origin.COFFER, Binding.ALWAYS, Default.DENY),
    /** Host bytes into an exec'd process's stdin: only where the policy says {@code allow_stdin} (off by default). */
    WRITE_EXEC_STDIN("write_exec_stdin", EnforcementRequest.WriteExecStdin.class, Origin.COFFER, Binding.ALWAYS, Default.DENY),
    /** An exec'd process's output and exit, read in chunks: for a container created (its output only with stdio access). */
    READ_EXEC_OUTPUT("read_exec_output", EnforcementRequest.ReadExecOutput.class, Origin.COFFER, Binding.ALWAYS, Default.DENY),
    /** The agent's decision log: gated by {@code allow_runtime_logging}, as ACI gates the guest's logs. */
    READ_DECISION_LOG("read_decision_log", EnforcementRequest.ReadDecisionLog.class, Origin.COFFER, Binding.ALWAYS, Default.DENY),
    /** A report for a host's nonce: allowed unless the policy binds its own rule (it binds no key, see HostChallenge). */
    GET_REPORT("get_report", EnforcementRequest.GetReport.class, Origin.COFFER, Binding.ALWAYS, Default.ALLOW),
    /** The host can always stop the sandbox from outside; allowed unless the policy binds its own rule. */
    SHUTDOWN_SANDBOX("shutdown_sandbox", EnforcementRequest.ShutdownSandbox.class, Origin.COFFER, Binding.ALWAYS, Default.ALLOW);

    /** Where a point comes from, which decides what happens when a policy does not bind it. */
    public enum Origin {
        /** One of Azure's (hcsshim's) points: ACI policies bind them all, and one that does not is refused it. */
        ACI,
        /**
         * Coffer's own: ACI policies (and Coffer's older ones) cannot know them, so when the policy
         * does not bind one, the framework's rule decides ({@code data.framework.<name>}).
         */
        COFFER
    }

    /** Whether {@code coffer policy gen} writes {@code <name> := data.framework.<name>}. */
    public enum Binding { ALWAYS, WITH_ENCRYPTED_VOLUMES, NEVER }

    private static final Map<String, EnforcementPoint> BY_NAME = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(EnforcementPoint::pointName, Function.identity()));
    private static final Map<Class<? extends EnforcementRequest>, EnforcementPoint> BY_TYPE = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(EnforcementPoint::requestType, Function.identity()));
    private static final List<String> NAMES = Arrays.stream(values()).map(EnforcementPoint::pointName).toList();

    private final String pointName;
    private final Class<? extends EnforcementRequest> requestType;
    private final Origin origin;
    private final Binding binding;
    private final String defaultResult;

    EnforcementPoint(String pointName, Class<? extends EnforcementRequest> requestType, Origin origin, Binding binding,
                     String defaultResult) {
        this.pointName = pointName;
        this.requestType = requestType;
        this.origin = origin;
        this.binding = binding;
        this.defaultResult = defaultResult;
    }

    /** The default results, in a class of their own: an enum's entries cannot refer to its own static fields. */
    private static final class Default {
        static final String DENY = "{\"allowed\": false}";
        static final String ALLOW = "{\"allowed\": true}";
    }

    /** The rule and request name, e.g. {@code mount_device}. */
    public String pointName() {
        return pointName;
    }

    public Class<? extends EnforcementRequest> requestType() {
        return requestType;
    }

    public Origin origin() {
        return origin;
    }

    public Binding binding() {
        return binding;
    }

    /** What the framework's rule returns when none of its conditions hold ({@code default <name> := ...}). */
    public ObjectNode defaultResult() {
        try {
            return (ObjectNode) RequestCodec.MAPPER.readTree(defaultResult);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("default result of " + pointName + " is not JSON: " + defaultResult, e);
        }
    }

    /** Every point's name, in declaration order. */
    public static List<String> names() {
        return NAMES;
    }

    /** The point of this name, or null when there is none. */
    public static EnforcementPoint named(String name) {
        return BY_NAME.get(name);
    }

    /** The point a request record is the input of. */
    public static EnforcementPoint of(EnforcementRequest request) {
        return BY_TYPE.get(request.getClass());
    }

    @Override
    public String toString() {
        return pointName;
    }
}
