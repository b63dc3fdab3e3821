package dev.coffer.runtime.sandbox;

import dev.coffer.agent.AgentMain;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The agent as a host process, containers run by runc/crun on the host. For development and
 * machines without KVM; it isolates nothing and says so.
 */
public final class ProcessSandboxBackend implements SandboxBackend {
    public static final String NAME = "process";
    private static final long READY_TIMEOUT_MILLIS = 60_000;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String isolationNotice() {
        return "warning: the process sandbox isolates nothing from the host: containers run as host processes"
                + " under runc/crun, with no hardware TEE (--tee sim only simulates one: its reports prove nothing"
                + " about this host); the agent enforces the policy, but the host could bypass it (use --isolation"
                + " microvm for isolation)";
    }

    /** The agent's JVM options: measured with --tee sim. */
    static final List<String> JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-Xmx128m", "--enable-native-access=ALL-UNNAMED");

    /** The agent flags that decide its behaviour (as opposed to per-group locations): measured with --tee sim. */
    static List<String> behaviourFlags(String ociRuntime, String tee, Integer skrPort, List<String> endpoints, List<Integer> ports) {
        List<String> behaviour = new ArrayList<>(List.of("--runtime", ociRuntime, "--tee", tee));
        if (skrPort != null) {
            behaviour.addAll(List.of("--skr-port", Integer.toString(skrPort)));
            for (String e : endpoints) behaviour.addAll(List.of("--skr-endpoint", e));
        }
        // the process sandbox isolates nothing from this host, so a vault on its loopback may be
        // reached over plain HTTP and without pins (development); a microVM's agent never allows it.
        // Measured like the rest, so a report says so.
        behaviour.addAll(List.of("--skr-loopback-http", "true"));
        // declared ports on the host's 127.0.0.1, as a microVM's are
        for (int p : ports) behaviour.addAll(List.of("--forward-port", Integer.toString(p)));
        return behaviour;
    }

    /** The launch-parameters artifact's lines (see {@link SimTeeLaunch}) of a start without a cache. */
    static List<String> measuredParameters(List<String> behaviour) {
        return measuredParameters(behaviour, new AgentAot.None());
    }

    /** The launch-parameters artifact's lines: the JVM options include the ahead-of-time cache's digest, if one is used. */
    static List<String> measuredParameters(List<String> behaviour, AgentAot aot) {
        List<String> measured = new ArrayList<>();
        measured.add("java " + Runtime.version().feature());
        measured.addAll(JVM_OPTIONS);
        measured.addAll(aot.measuredLines());
        measured.add(AgentMain.class.getName());
        measured.addAll(behaviour);
        return measured;
    }

    /**
     * The MEASUREMENT (lower-case hex) a {@code --tee sim} launch of this Coffer's agent gets with
     * these launch flags, computed as {@link #launch} does, without launching: what an endorser
     * signs for the process sandbox. Groups with other flags (OCI runtime, SKR port and
     * endpoints, forwarded ports) measure differently, and so does a launch from the agent's
     * ahead-of-time cache: this computes what a launch from here would use (the cache this build's
     * launcher names, if its seal holds).
     */
    public static String simMeasurementHex(String ociRuntime, Integer skrPort, List<String> endpoints, List<Integer> ports) throws IOException {
        String classpath = AgentClasspath.current();
        List<String> measured = measuredParameters(behaviourFlags(ociRuntime, "sim", skrPort,
                endpoints == null ? List.of() : endpoints, ports == null ? List.of() : ports), AgentAotCache.forLaunch(classpath));
        return java.util.HexFormat.of().formatHex(SimTeeLaunch.measurement(classpath, measured).compute());
    }

    @Override
    public Sandbox launch(LaunchRequest request) throws IOException {
        return launch(request, AgentAotCache.forLaunch(request.environment().isEmpty() ? System.getenv()
                : mergedEnvironment(request.environment()), AgentClasspath.current()));
    }

    private static java.util.Map<String, String> mergedEnvironment(java.util.Map<String, String> extra) {
        java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.putAll(extra);
        return env;
    }

    /** Launches the agent, its JVM doing {@code aot} with an ahead-of-time cache (measured with a TEE). */
    Sandbox launch(LaunchRequest request, AgentAot aot) throws IOException {
        Path groupDir = request.groupDir().toAbsolutePath();
        Path socket = groupDir.resolve("agent.sock");
        Path state = groupDir.resolve("sandbox");
        Path log = groupDir.resolve("agent.log");
        Files.createDirectories(groupDir);
        Files.deleteIfExists(socket);
        List<String> argv = new ArrayList<>();
        // setsid: the agent and its containers leave the CLI's session, so Ctrl-C in the
        // terminal reaches only the CLI (which then stops the group in order) and the group
        // outlives the CLI when detached.
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) argv.add("/usr/bin/setsid");
        String classpath = AgentClasspath.current();
        // JVM options and main class, then the agent flags that decide behaviour: with a TEE these
        // are measured (see SimTeeLaunch), so they are kept apart from the per-group locations.
        // Full tiered compilation: the agent hashes whole layer disks where there is no
        // dm-verity, and C1 alone has no SHA-256 intrinsic.
        List<String> jvm = JVM_OPTIONS;
        List<String> behaviour = behaviourFlags(request.ociRuntime(), request.tee(), request.skrPort(), request.endpoints(), request.ports());
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.addAll(jvm);
        argv.addAll(aot.jvmOptions());
        argv.addAll(List.of("-cp", classpath, AgentMain.class.getName(),
                "--socket", socket.toString(), "--state", state.toString(), "--name", request.groupName(),
                "--policy", request.policy()));
        argv.addAll(behaviour);
        // the only sources mount_device may name: the layer disk files prepared for this group
        for (var disk : request.layerDisks()) argv.addAll(List.of("--layer-disk", disk.file().toAbsolutePath().toString()));
        // a pod's network namespace (CNI's): a location the agent checks and adopts, not measured (like --state)
        if (request.networkNamespace() != null) {
            argv.addAll(List.of("--network-namespace", request.networkNamespace().toString()));
        }
        Path policyFile = request.policy().equals("allow-all") ? null : Path.of(request.policy());
        String tee = request.tee();
        String measurement = "";
        String hostData = "";
        switch (tee) {
            case "none" -> {
                if (request.skrPort() != null) {
                    throw new SandboxException("expected no SKR API without a TEE (it releases keys only on attestation"
                            + " evidence), found skr port " + request.skrPort() + "; run with --tee sim or disable skr in the spec");
                }
                if (policyFile != null) {
                    // Without a TEE the launcher's word is all there is: bind the launch to
                    // SHA-256(policy) on the command line; the agent refuses a policy that differs.
                    argv.addAll(List.of("--host-data", java.util.HexFormat.of().formatHex(
                            dev.coffer.attest.measure.HostData.ofPolicy(Files.readAllBytes(policyFile)))));
                }
            }
            case "sim" -> {
                if (request.simTeeDir() == null) {
                    throw new SandboxException("expected the simulated secure processor's directory for --tee sim, found none");
                }
                List<String> measured = measuredParameters(behaviour, aot);
                SimTeeLaunch.Fixed fixed = SimTeeLaunch.create(request.simTeeDir(), request.groupName(), groupDir, classpath,
                        measured, policyFile);
                measurement = fixed.measurementHex();
                hostData = fixed.hostDataHex();
                argv.addAll(List.of("--launch-context", fixed.contextFile().toString()));
                // the guest's endorsement, when the home has one for this MEASUREMENT: an unmeasured launch input
                var endorsement = EndorsementHandOff.forMeasurement(request.simTeeDir(), measurement);
                if (endorsement.isEmpty()) {
                    // This MEASUREMENT is this installation's own agent code with this group's launch
                    // flags (computed here from what is launched), so the home key endorses it now, as
                    // `coffer guest build` and `coffer guest endorse --process` do ahead of time. The
                    // process sandbox isolates nothing and its host holds the home key (and the
                    // simulated chip) anyway; launches made outside the runtime stay unendorsed.
                    Path home = request.simTeeDir().toAbsolutePath().getParent();
                    byte[] cose = dev.coffer.runtime.guest.GuestEndorsements.homeKey(home).sign(measurement,
                            dev.coffer.runtime.guest.GuestEndorsements.GUEST_SVN);
                    dev.coffer.runtime.guest.GuestEndorsements.store(home, dev.coffer.runtime.guest.GuestEndorsements.Kind.PROCESS, cose);
                    endorsement = java.util.Optional.of(cose);
                }
                if (endorsement.isPresent()) {
                    Path file = groupDir.resolve("endorsement.cose");
                    Files.write(file, endorsement.get());
                    argv.addAll(List.of("--endorsement", file.toString()));
                }
            }
            default -> throw new SandboxException("expected --tee none|sim for the process sandbox, found \"" + tee + "\""
                    + ("snp".equals(tee) ? " (a real SEV-SNP launch needs --isolation microvm on an SNP host)" : ""));
        }
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true);
        pb.environment().putAll(request.environment());
        Process process = pb.start();
        long deadline = System.nanoTime() + READY_TIMEOUT_MILLIS * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new SandboxException("expected the agent to start, it exited with code " + process.exitValue()
                        + ": " + lastLines(log) + " (full log: " + log + ")");
            }
            if (Files.exists(socket) && readyLine(log)) {
                Instant started = process.toHandle().info().startInstant().orElse(Instant.EPOCH);
                return new ProcessSandbox(new SandboxRecord(NAME, process.pid(), started.toString(), socket.toString(),
                        state.toString(), tee, measurement, hostData), groupDir);
            }
            sleep(25);
        }
        process.destroyForcibly();
        throw new SandboxException("expected the agent to answer within " + READY_TIMEOUT_MILLIS / 1000
                + " s, it did not; see " + log);
    }

    @Override
    public Sandbox attach(SandboxRecord record) {
        return new ProcessSandbox(record, Path.of(record.socket()).getParent());
    }

    private static boolean readyLine(Path log) throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8).contains("READY ");
    }

    static String lastLines(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            List<String> tail = lines.subList(Math.max(0, lines.size() - 3), lines.size());
            String joined = String.join(" ", tail).strip();
            return joined.isEmpty() ? "(the agent printed nothing)" : joined;
        } catch (IOException e) {
            return "(no agent log)";
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The agent process of a record, if it still runs and is the same process (not a reused pid). */
    static Optional<ProcessHandle> agentProcess(SandboxRecord record) {
        return ProcessHandle.of(record.agentPid()).filter(ProcessHandle::isAlive).filter(h -> h.info().startInstant()
                .map(i -> i.toString().equals(record.agentStartedAt())).orElse(true));
    }
}
