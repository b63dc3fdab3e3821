package dev.coffer.agent;

import dev.coffer.agent.container.AgentException;
import dev.coffer.agent.container.AttachedDisks;
import dev.coffer.agent.container.ContainerService;
import dev.coffer.agent.container.OciRuntime;
import dev.coffer.agent.enforce.Enforcer;
import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.agent.skr.KeyChannelTrust;
import dev.coffer.agent.skr.SecureKeyRelease;
import dev.coffer.agent.skr.SkrServer;
import dev.coffer.agent.netns.PortForwards;
import dev.coffer.agent.protocol.Protocol;
import dev.coffer.agent.tee.TeeSources;
import dev.coffer.agent.transport.UnixSocketServer;
import dev.coffer.attest.measure.HostData;
import dev.coffer.policy.enforce.DecisionLogEntry;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.enforce.PolicyLoadException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.function.Consumer;

/**
 * The agent process: {@code AgentMain --socket PATH --state DIR --name GROUP
 * --policy FILE|allow-all [--runtime auto|runc|crun|PATH] [--tee none|sim|snp]
 * [--launch-context FILE] [--host-data HEX] [--skr-port PORT] [--skr-endpoint URL]...
 * [--forward-address IPV4] [--forward-port PORT]... [--scratch disk|file]}. The same program runs inside the
 * microVM with a virtio-serial port instead of the socket.
 *
 * <p>The agent refuses to start without a policy, and refuses a policy whose SHA-256 is not the
 * HOST_DATA the sandbox was launched with. With a TEE ({@code --tee sim} with the sealed launch
 * context the runtime wrote, or {@code --tee snp}) HOST_DATA is read from a fresh report at
 * startup and nothing the host says on the command line replaces it; without one
 * ({@code --tee none}) the launcher's {@code --host-data} is all there is. {@code allow-all} is the
 * explicit development choice: it enforces nothing, the agent reports itself debuggable, and a
 * TEE launch must then carry HOST_DATA of zeros.
 *
 * <p>With a TEE the agent also answers {@code get_report} and, with {@code --skr-port}, serves the
 * SKR API on 127.0.0.1:PORT inside the group's network namespace (only the group's containers
 * reach it). Each {@code --skr-endpoint} names an attestation service or key vault the API may
 * call; with none given it may call any. Each {@code --forward-port} makes the group's 127.0.0.1:PORT
 * reachable on {@code --forward-address} (default 127.0.0.1) in the agent's own network namespace.
 * The group's network namespace is one of its own with loopback only, or, with
 * {@code --network-namespace FILE}, a Kubernetes pod's (made by containerd through CNI): checked to
 * be a network namespace other than the agent's, then bind-mounted as the group's.
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
        String tee = TeeSources.NONE;
        Path launchContext = null;
        Path endorsementFile = null;
        Integer skrPort = null;
        List<String> skrEndpoints = new ArrayList<>();
        boolean loopbackHttp = false;
        List<Integer> forwardPorts = new ArrayList<>();
        String forwardAddress = "127.0.0.1";
        Path simTeeDir = null;
        List<String> layerDisks = new ArrayList<>();
        boolean scratchOnDisk = false;
        Path podNetwork = null;
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
                    case "--tee" -> tee = value;
                    case "--launch-context" -> launchContext = Path.of(value).toAbsolutePath();
                    case "--endorsement" -> endorsementFile = Path.of(value).toAbsolutePath();
                    case "--skr-port" -> skrPort = port(flag, value);
                    case "--skr-endpoint" -> skrEndpoints.add(SecureKeyRelease.endpointOrigin(value));
                    // only the process sandbox passes it (ProcessSandboxBackend); a microVM's agent never allows plain HTTP
                    case "--skr-loopback-http" -> loopbackHttp = bool(value, flag);
                    case "--forward-port" -> forwardPorts.add(port(flag, value));
                    case "--forward-address" -> forwardAddress = ipv4(value);
                    case "--sim-tee" -> simTeeDir = Path.of(value).toAbsolutePath();
                    case "--layer-disk" -> layerDisks.add(value);
                    // a location, like --state: the pod's network namespace (CNI's, through containerd), checked
                    // before it is adopted (AdoptedNamespace); without it the group gets a namespace of its own
                    case "--network-namespace" -> podNetwork = Path.of(value);
                    // where scratch_mount puts the scratch: the microVM's guest passes "disk" (its own code, so
                    // measured); the process sandbox's default is a file in the state directory. Writable data
                    // waits for scratch_mount either way: there is no value that skips it.
                    case "--scratch" -> scratchOnDisk = switch (value) {
                        case "disk" -> true;
                        case "file" -> false;
                        default -> throw new IllegalArgumentException("expected --scratch disk (the sandbox's scratch disk) or file"
                                + " (a file in the state directory), found \"" + value + "\"");
                    };
                    default -> throw new IllegalArgumentException("expected one of --socket --state --name --policy"
                            + " --host-data --runtime --tee --launch-context --sim-tee --endorsement --skr-port --skr-endpoint"
                            + " --skr-loopback-http --forward-port --forward-address --layer-disk --scratch --network-namespace, found " + flag);
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
        EvidenceSource evidence;
        LaunchInputs.Checked launch;
        AttachedDisks attached;
        KeyChannelTrust keyChannel;
        StartupClock clock = new StartupClock();
        // Work that does not depend on the TEE's word runs beside its check, each on a thread of
        // its own: compiling the policy, probing the OCI runtime (a process spawn) and building the
        // protocol's JSON codecs. Nothing of it is used before the check passes: the compiled policy
        // is bound to HOST_DATA below, and a failed check exits before any container exists.
        Path stateDir = state;
        String runtimeChoice = runtime;
        String policyFile = policy;
        if (Runtime.getRuntime().availableProcessors() > 1) {
            Thread.ofPlatform().daemon().name("protocol-warm-up").start(Protocol::warmUp);
        }
        CompletableFuture<PolicyEnforcer> compiled = policy == null || policy.equals(Enforcer.ALLOW_ALL) ? null
                : background("policy-compile", () -> compilePolicy(Path.of(policyFile), stateDir));
        CompletableFuture<OciRuntime> ociProbe = background("oci-runtime-probe",
                () -> OciRuntime.detect(runtimeChoice, stateDir.resolve("oci-state")));
        try {
            evidence = TeeSources.open(tee, launchContext, name, Path.of("/"), simTeeDir).orElse(null);
            if (evidence == null && skrPort != null) {
                throw new IllegalArgumentException("expected --skr-port only with a TEE (keys are released on evidence),"
                        + " found it with --tee none");
            }
            if (evidence != null) hostData = boundHostData(evidence, policy, hostData);
            // the guest's endorsement goes with every attestation request (SKR API, encrypted volumes)
            evidence = EvidenceSource.endorsed(evidence, dev.coffer.agent.skr.GuestEndorsementFile.read(endorsementFile));
            clock.mark("tee");
            PolicyEnforcer loaded = loadPolicy(policy, hostData, state, compiled);
            // the launch arguments beyond containers, against what the policy pins: refused before anything is set up
            launch = LaunchInputs.check(loaded.launchSettings(), forwardPorts, skrPort, skrEndpoints);
            attached = AttachedDisks.of(layerDisks, loaded.launchSettings().isEmpty());
            enforcer = new Enforcer(loaded);
            // the key channel's pins come from the policy HOST_DATA binds (the text compiled and
            // checked above, not the file read again: the host could have swapped it meanwhile),
            // never from the host's flags
            keyChannel = KeyChannelTrust.fromPolicy(loaded.keyChannelPins(), loopbackHttp);
            clock.mark("policy");
        } catch (RuntimeException | IOException e) {
            // Refusing to start is the safe default: running without enforcement must be a choice.
            System.err.println("coffer-agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            OciRuntime oci = joined(ociProbe);
            clock.mark("oci-runtime");
            ContainerService service = ContainerService.start(state, name, oci, attached, keyChannel, scratchOnDisk, podNetwork);
            clock.mark("netns");
            SkrServer skr = null;
            if (launch.skrPort() != null) {
                // bound inside the group's network namespace: its containers reach it on their
                // loopback, nothing outside the group does
                skr = SkrServer.start(new InetSocketAddress("127.0.0.1", launch.skrPort()),
                        new SecureKeyRelease(evidence, "CKM_RSA_AES_KEY_WRAP", java.time.Duration.ofSeconds(30), launch.skrEndpoints(), keyChannel),
                        Path.of(service.networkNamespace()));
            }
            RequestHandler handler = new RequestHandler(enforcer, service, evidence, launch.skrPort());
            clock.mark("skr");
            PortForwards forwards = PortForwards.start(java.net.InetAddress.getByName(forwardAddress), launch.forwardPorts(),
                    Path.of(service.networkNamespace()), launch.skrPort());
            try (forwards; UnixSocketServer server = UnixSocketServer.bind(socket, handler)) {
                System.out.println("READY " + ProcessHandle.current().pid() + " " + oci.describe()
                        + " enforcer=" + enforcer.name() + (enforcer.debuggable() ? " debuggable" : "")
                        + " layers=" + service.layerVerification() + " tee=" + tee
                        + (launch.skrPort() != null ? " skr=127.0.0.1:" + launch.skrPort() + "@group-netns" : ""));
                // where the agent's own start went, for `coffer guest boot-test` and slow hosts
                System.out.println("coffer-agent: startup " + clock);
                System.out.flush();
                server.serve();
            } finally {
                if (skr != null) skr.close();
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

    private static boolean bool(String value, String flag) {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("expected " + flag + " true or false, found \"" + value + "\"");
        };
    }

    private static int port(String flag, String value) {
        try {
            int p = Integer.parseInt(value);
            if (p >= 1 && p <= 65535) return p;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("expected " + flag + " 1..65535, found \"" + value + "\"");
    }

    /**
     * The startup check with a TEE: a fresh report's HOST_DATA must be SHA-256 of the policy file
     * (zeros for allow-all). Returns HOST_DATA in hex for {@link #loadPolicy}, or null for
     * allow-all. A {@code --host-data} from the host, if given, must agree with the report.
     */
    private static String ipv4(String value) {
        if (!value.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("expected --forward-address to be an IPv4 address like 127.0.0.1, found \"" + value + "\"");
        }
        return value;
    }

    /** Milliseconds per startup phase, in order. */
    private static final class StartupClock {
        private final StringBuilder phases = new StringBuilder();
        private long last = System.nanoTime();

        void mark(String phase) {
            long now = System.nanoTime();
            phases.append(phases.isEmpty() ? "" : " ").append(phase).append('=').append((now - last) / 1_000_000).append("ms");
            last = now;
        }

        @Override
        public String toString() {
            return phases.toString();
        }
    }

    static String boundHostData(EvidenceSource evidence, String policy, String hostDataFlag) throws IOException {
        if (policy == null) return hostDataFlag; // loadPolicy explains the missing --policy
        byte[] policyBytes = null;
        if (!policy.equals(Enforcer.ALLOW_ALL)) {
            try {
                policyBytes = Files.readAllBytes(Path.of(policy));
            } catch (IOException e) {
                throw new IllegalArgumentException("expected a readable policy file at " + policy + ", found: " + e.getMessage());
            }
        }
        // a hardware TEE's fresh report; the simulated TEE answers from its checked launch context
        // without signing one (a P-384 signature is seconds of a microVM's start under emulation)
        String reported = HexFormat.of().formatHex(TeeSources.requirePolicyBound(evidence, policyBytes));
        if (hostDataFlag != null && !hostDataFlag.equalsIgnoreCase(reported)) {
            throw new IllegalStateException("expected --host-data to equal the launch's HOST_DATA " + reported + " from the "
                    + evidence.tee() + " TEE, found " + hostDataFlag + "; the host's word does not override the TEE's");
        }
        return policyBytes == null ? null : reported;
    }

    /** The decision log's file in the agent's state directory. */
    public static final String DECISION_LOG = "policy-decisions.jsonl";

    /**
     * The enforcer for {@code --policy}: allow-all, or the Rego policy in FILE, which must hash to
     * {@code --host-data}. Decisions are appended to the state directory's decision log.
     */
    static PolicyEnforcer loadPolicy(String policy, String hostData, Path state, CompletableFuture<PolicyEnforcer> compiled)
            throws IOException {
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
        byte[] text = readPolicy(Path.of(policy));
        // The one place the launch measurement and the policy meet; a report source feeds it later.
        HostData.requireMatches(HexFormat.of().parseHex(hostData.toLowerCase(java.util.Locale.ROOT)), text);
        // compiled from the file beside the TEE's check: it must be these very bytes, or it is compiled again
        PolicyEnforcer enforcer = compiled == null ? null : joinedPolicy(compiled);
        return enforcer != null && enforcer.policySha256().equals(HexFormat.of().formatHex(HostData.ofPolicy(text)))
                ? enforcer : compile(text, policy, state);
    }

    /** Compiles the policy file; refusals come back as the same IllegalArgumentException loadPolicy throws. */
    private static PolicyEnforcer compilePolicy(Path policy, Path state) {
        try {
            return compile(readPolicy(policy), policy.toString(), state);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static PolicyEnforcer compile(byte[] text, String policy, Path state) throws IOException {
        Files.createDirectories(state);
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

    private static byte[] readPolicy(Path policy) {
        try {
            return Files.readAllBytes(policy);
        } catch (IOException e) {
            throw new IllegalArgumentException("expected a readable policy file at " + policy + ", found: " + e.getMessage());
        }
    }

    /** The background compile's result; its refusal is rethrown as is, anything else means compile again. */
    private static PolicyEnforcer joinedPolicy(CompletableFuture<PolicyEnforcer> compiled) {
        try {
            return compiled.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof IllegalArgumentException refusal) throw refusal;
            return null;
        }
    }

    /** Runs {@code work} on a platform thread of its own. */
    private static <T> CompletableFuture<T> background(String name, java.util.function.Supplier<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                result.complete(work.get());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    /** A background result, with its own exception (AgentException, ...) rethrown as the caller would have seen it. */
    private static <T> T joined(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /**
     * The decision log on the sandbox's disk stops growing here (in a microVM that disk is the guest's
     * memory, and a host sending requests in a loop must not fill it); the enforcer keeps the latest
     * decisions in memory regardless, and the file says where it stopped.
     */
    static final long DECISION_LOG_MAX_BYTES = 16L << 20;

    static Consumer<DecisionLogEntry> appender(Path file) {
        return appender(file, DECISION_LOG_MAX_BYTES);
    }

    static Consumer<DecisionLogEntry> appender(Path file, long maxBytes) {
        long[] written = {file.toFile().length()};
        boolean[] full = {written[0] >= maxBytes};
        return entry -> {
            if (full[0]) return;
            String line = entry.toJson().toString() + "\n";
            try {
                byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                if (written[0] + bytes.length > maxBytes) {
                    full[0] = true;
                    System.err.println("coffer-agent: the decision log " + file + " reached its bound of " + maxBytes
                            + " bytes; later decisions are kept in memory only");
                    return;
                }
                Files.write(file, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                written[0] += bytes.length;
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
