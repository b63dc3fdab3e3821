package dev.coffer.agent;

import dev.coffer.agent.container.AgentException;
import dev.coffer.agent.container.ContainerService;
import dev.coffer.agent.container.OciRuntime;
import dev.coffer.agent.enforce.Enforcer;
import dev.coffer.agent.transport.UnixSocketServer;
import dev.coffer.attest.measure.HostData;
import dev.coffer.policy.enforce.DecisionLogEntry;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.enforce.PolicyLoadException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * The agent process: {@code AgentMain --socket PATH --state DIR --name GROUP
 * --policy FILE --host-data HEX | --policy allow-all [--runtime auto|runc|crun|PATH]}. The same
 * program runs inside the microVM with a virtio-serial port instead of the socket.
 *
 * <p>The agent refuses to start without a policy, and refuses a policy whose SHA-256 is not the
 * HOST_DATA the sandbox was launched with ({@code --host-data}, set by the launcher for now; a
 * report source feeds the same check later). {@code allow-all} is the explicit development
 * choice: it enforces nothing and the agent reports itself debuggable.
 *
 * <p>The decision log is appended to {@code STATE/policy-decisions.jsonl}, one JSON entry per
 * line (an entry appears again when its outcome changes; the last line of a sequence wins).
 *
 * <p>Exit codes: 0 after shutdown_sandbox, 2 bad arguments or a policy that cannot be used,
 * 3 the sandbox cannot be prepared (no OCI runtime, no permission to mount, ...). The first line
 * on stdout once ready is {@code READY <pid> <runtime> enforcer=<name>}.
 */
public final class AgentMain {
    private AgentMain() {}

    public static void main(String[] args) {
        Path socket = null;
        Path state = null;
        String name = null;
        String policy = null;
        String hostData = null;
        String runtime = "auto";
        List<String> rest = new ArrayList<>(List.of(args));
        try {
            while (!rest.isEmpty()) {
                String flag = rest.removeFirst();
                if (rest.isEmpty()) throw new IllegalArgumentException("expected a value after " + flag + ", found none");
                String value = rest.removeFirst();
                switch (flag) {
                    case "--socket" -> socket = Path.of(value).toAbsolutePath();
                    case "--state" -> state = Path.of(value).toAbsolutePath();
                    case "--name" -> name = value;
                    case "--policy" -> policy = value;
                    case "--host-data" -> hostData = value;
                    case "--runtime" -> runtime = value;
                    default -> throw new IllegalArgumentException(
                            "expected one of --socket --state --name --policy --host-data --runtime, found " + flag);
                }
            }
            if (socket == null || state == null || name == null) {
                throw new IllegalArgumentException("expected --socket PATH --state DIR --name GROUP, found some missing");
            }
            if (!name.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) {
                throw new IllegalArgumentException("expected --name of lowercase letters, digits and '-', found \"" + name + "\"");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("coffer-agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        Enforcer enforcer;
        try {
            enforcer = new Enforcer(loadPolicy(policy, hostData, state));
        } catch (RuntimeException | IOException e) {
            // Refusing to start is the safe default: running without enforcement must be a choice.
            System.err.println("coffer-agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            OciRuntime oci = OciRuntime.detect(runtime, state.resolve("oci-state"));
            ContainerService service = ContainerService.start(state, name, oci);
            RequestHandler handler = new RequestHandler(enforcer, service);
            try (UnixSocketServer server = UnixSocketServer.bind(socket, handler)) {
                System.out.println("READY " + ProcessHandle.current().pid() + " " + oci.describe()
                        + " enforcer=" + enforcer.name() + (enforcer.debuggable() ? " debuggable" : "")
                        + " layers=" + service.layerVerification());
                System.out.flush();
                server.serve();
            }
            System.out.println("coffer-agent: sandbox shut down");
            System.exit(0);
        } catch (AgentException | IOException e) {
            System.err.println("coffer-agent: " + e.getMessage());
            System.exit(3);
        } catch (RuntimeException e) {
            // a bug, not an environment problem: the trace is what a maintainer needs
            System.err.println("coffer-agent: unexpected failure: " + e);
            e.printStackTrace();
            System.exit(3);
        }
    }

    /** The decision log's file in the agent's state directory. */
    public static final String DECISION_LOG = "policy-decisions.jsonl";

    /**
     * The enforcer for {@code --policy}: allow-all, or the Rego policy in FILE, which must hash to
     * {@code --host-data}. Decisions are appended to the state directory's decision log.
     */
    static PolicyEnforcer loadPolicy(String policy, String hostData, Path state) throws IOException {
        if (policy == null) {
            throw new IllegalArgumentException("expected --policy FILE (the Rego policy the sandbox was launched with) or"
                    + " --policy allow-all, found no --policy; the agent does not run containers without a policy");
        }
        Files.createDirectories(state);
        if (policy.equals(Enforcer.ALLOW_ALL)) {
            if (hostData != null) {
                throw new IllegalArgumentException("expected no --host-data with --policy allow-all, found one; "
                        + "a launch bound to a policy must run that policy");
            }
            return PolicyEnforcer.allowAll();
        }
        if (hostData == null || !hostData.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("expected --host-data with 64 hex digits (the SHA-256 of the policy the sandbox"
                    + " was launched with), found " + (hostData == null ? "none" : "\"" + hostData + "\""));
        }
        byte[] text;
        try {
            text = Files.readAllBytes(Path.of(policy));
        } catch (IOException e) {
            throw new IllegalArgumentException("expected a readable policy file at " + policy + ", found: " + e.getMessage());
        }
        // The one place the launch measurement and the policy meet; a report source feeds it later.
        HostData.requireMatches(HexFormat.of().parseHex(hostData.toLowerCase(java.util.Locale.ROOT)), text);
        Path devices = state.toAbsolutePath().resolve("devices");
        EnforcerOptions options = EnforcerOptions.defaults()
                .withLayerMountPathRegex(re2Quote(devices.toString()) + "/[0-9a-zA-Z_.-]+")
                .withSandboxDir(state.toAbsolutePath().toString())
                .withLogSink(appender(state.resolve(DECISION_LOG)));
        try {
            return PolicyEnforcer.load(new String(text, StandardCharsets.UTF_8), options);
        } catch (PolicyLoadException e) {
            throw new IllegalArgumentException("expected a Rego policy in ACI's schema in " + policy + ", found one that does"
                    + " not load: " + e.getMessage() + "; generate one with `coffer policy gen`");
        }
    }

    private static Consumer<DecisionLogEntry> appender(Path file) {
        return entry -> {
            try {
                Files.writeString(file, entry.toJson().toString() + "\n", StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                // a decision that cannot be logged is not made: the enforcer fails closed
                throw new UncheckedIOException("cannot append to the decision log " + file, e);
            }
        };
    }

    private static String re2Quote(String s) {
        StringBuilder sb = new StringBuilder();
        for (char ch : s.toCharArray()) {
            if ("\\.+*?()|[]{}^$".indexOf(ch) >= 0) sb.append('\\');
            sb.append(ch);
        }
        return sb.toString();
    }
}
