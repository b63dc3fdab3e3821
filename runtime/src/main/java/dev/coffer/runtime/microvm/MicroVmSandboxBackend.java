package dev.coffer.runtime.microvm;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.runtime.guest.GuestBuildException;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.guest.GuestNetwork;
import dev.coffer.runtime.guest.LaunchDisk;
import dev.coffer.runtime.preflight.HostProbe;
import dev.coffer.runtime.preflight.SnpPreflight;
import dev.coffer.layer.LayerDisk;
import dev.coffer.runtime.sandbox.Sandbox;
import dev.coffer.runtime.sandbox.SandboxBackend;
import dev.coffer.runtime.sandbox.SandboxException;
import dev.coffer.runtime.sandbox.SandboxRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code --isolation microvm}: one QEMU microVM per group, booted from the guest that
 * {@code coffer guest build} made, the same agent inside, driven over a virtio-serial port.
 * Layer disks are attached read-only as virtio-blk devices named by serial; networking is QEMU
 * user mode with {@code restrict=on}, so the group reaches nothing but what is forwarded to it.
 */
public final class MicroVmSandboxBackend implements SandboxBackend {
    public static final String NAME = "microvm";
    /** The agent's state directory inside the guest (GuestAgent's --state). */
    public static final String GUEST_STATE_DIR = "/run/coffer";
    private static final Duration DAEMONIZE_TIMEOUT = Duration.ofSeconds(60);
    /** The group's scratch disk in its run directory: a sparse file the guest encrypts with a key of its own. */
    public static final String SCRATCH_DISK_FILE = "scratch.img";
    /** Its size: room for the writable layers and emptyDirs of a group; sparse, so unused space costs nothing. */
    static final long SCRATCH_DISK_BYTES = 1L << 30;

    private final Path guestDir;
    private final Duration readyTimeout;

    /** Uses the guest in $COFFER_HOME/guest, found from the group directory ($COFFER_HOME/groups/NAME). */
    public MicroVmSandboxBackend() {
        this(null, Duration.ofSeconds(300));
    }

    /**
     * @param guestDir     the built guest, or null for the one beside the group directories
     * @param readyTimeout how long the VM may take to answer its first ping (TCG on a busy host is slow)
     */
    public MicroVmSandboxBackend(Path guestDir, Duration readyTimeout) {
        this.guestDir = guestDir;
        this.readyTimeout = readyTimeout;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String isolationNotice() {
        return "microvm: the group runs in its own virtual machine (QEMU " + Accelerator.choose(System.getenv("COFFER_ACCEL"))
                .accelerator().qemuName() + "), layers verified by dm-verity inside it; without SEV-SNP hardware the host can"
                + " still read its memory";
    }

    @Override
    public Sandbox launch(LaunchRequest request) throws IOException {
        if (request.networkNamespace() != null) {
            // before anything is written or started
            throw new SandboxException("expected no pod network namespace for a microVM group, found "
                    + request.networkNamespace() + ": a Kubernetes pod's network (CNI) is not bridged into a microVM yet,"
                    + " so its pod IP would reach nothing; run such pods in the process sandbox (the shim's"
                    + " COFFER_SHIM_ISOLATION=process) or with hostNetwork, where the microVM has a network of its own");
        }
        java.util.LinkedHashMap<String, MicroVm.Disk> disks = new java.util.LinkedHashMap<>();
        for (LayerDisk d : request.layerDisks()) {
            disks.putIfAbsent(layerSerial(d), new MicroVm.Disk(d.file(), layerSerial(d), true));
        }
        // encrypted volumes: ciphertext, opened with dm-crypt inside the guest; writable only when the spec says so
        for (VolumeDisk v : request.volumeDisks()) {
            disks.put(volumeSerial(v), new MicroVm.Disk(v.file().toAbsolutePath(), volumeSerial(v), v.readOnly()));
        }
        List<MicroVm.PortForward> forwards = request.ports().stream().map(p -> new MicroVm.PortForward(p, p)).toList();
        return launch(request, List.copyOf(disks.values()), forwards);
    }

    /** The guest's network for {@code request}: its endpoints reachable, its ports forwarded in. */
    private static GuestNetwork.Plan networkPlan(LaunchRequest request, List<MicroVm.PortForward> forwards) throws SandboxException {
        GuestNetwork.Plan plan;
        try {
            plan = GuestNetwork.Plan.of(request.endpoints(), forwards.stream().map(MicroVm.PortForward::guestPort).distinct().toList());
        } catch (IllegalArgumentException e) {
            throw new SandboxException("cannot plan the microVM's network for group " + request.groupName() + ": " + e.getMessage());
        }
        if (!plan.endpoints().isEmpty() && !onPath("socat")) {
            throw new SandboxException("expected socat on this host to carry the microVM's connections to " + String.join(", ",
                    plan.origins()) + ", found none; install it: apt-get install socat");
        }
        return plan;
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) return true;
        }
        return false;
    }

    /**
     * The serial a layer disk is attached under: its root hash's first 16 hex digits (virtio-blk
     * keeps 20 bytes). Two disks with the same prefix hold the same verified content.
     */
    static String layerSerial(LayerDisk disk) {
        return "l" + disk.rootHash().substring(0, 16);
    }

    /** The serial an encrypted volume's image is attached under, the one the agent derives from its name. */
    static String volumeSerial(VolumeDisk disk) {
        return dev.coffer.agent.volume.EncryptedVolumes.diskSerial(disk.name());
    }

    /** What one launch fixed: the disk that tells the guest, and the TEE's MEASUREMENT and HOST_DATA (hex, "" without). */
    private record Launch(MicroVm.Disk disk, String tee, String measurementHex, String hostDataHex) {}

    /**
     * The launch disk: group, policy and HOST_DATA for this one launch (see {@link LaunchDisk}).
     * With {@code --tee sim} the launch is also created on this home's simulated secure
     * processor, with MEASUREMENT over what the VM boots — kernel, initramfs, command line and
     * the agent disk's root hash ({@link GuestImage#measurement}) — so a changed guest measures
     * differently; the sealed context and the chip travel on the same disk.
     */
    private static Launch launchDisk(LaunchRequest request, GuestImage guest, Path runDir, GuestNetwork.Plan network,
                                     dev.coffer.runtime.sandbox.SnpSettings snp) throws IOException {
        String policy = null;
        byte[] hostData = null;
        if (!request.policy().equals("allow-all")) {
            byte[] text = Files.readAllBytes(Path.of(request.policy()));
            policy = new String(text, java.nio.charset.StandardCharsets.UTF_8);
            hostData = dev.coffer.attest.measure.HostData.ofPolicy(text);
        }
        java.util.HexFormat hex = java.util.HexFormat.of();
        Files.createDirectories(runDir);
        LaunchDisk.Content content;
        try {
            content = LaunchDisk.Content.of(request.groupName(), policy,
                    hostData == null ? null : hex.formatHex(hostData), "auto".equals(request.ociRuntime()) ? "crun" : request.ociRuntime());
        } catch (IllegalArgumentException e) {
            throw new SandboxException("cannot describe the launch of group " + request.groupName() + " to its microVM: "
                    + e.getMessage() + "; the guest runs its own crun (--runtime auto or crun)");
        }
        String measurement = "";
        switch (request.tee()) {
            case "none" -> {
                if (request.skrPort() != null) {
                    throw new SandboxException("expected --tee sim for a group with the SKR API (skr port " + request.skrPort()
                            + "), found --tee none; keys are released only to attested groups");
                }
            }
            case "sim" -> {
                if (request.simTeeDir() == null) {
                    throw new SandboxException("expected the simulated secure processor's directory for --tee sim, found none");
                }
                dev.coffer.attest.sim.SimulatedSecureProcessor chip;
                try {
                    chip = dev.coffer.attest.sim.SimulatedSecureProcessor.openOrCreateForSigning(request.simTeeDir());
                } catch (RuntimeException e) {
                    throw new SandboxException("cannot open the simulated secure processor in " + request.simTeeDir() + ": "
                            + e.getMessage(), e);
                }
                Path context = runDir.resolve("launch-context.json");
                var launch = dev.coffer.agent.tee.SimLaunchContext.create(chip, request.groupName(), guest.measurement().compute(),
                        hostData == null ? new byte[32] : hostData, context);
                java.util.Map<String, String> chipFiles = new java.util.TreeMap<>();
                // the chip's files by their fixed names and nothing else: the guest refuses any other name
                for (String name : dev.coffer.attest.sim.SimulatedSecureProcessor.FILES) {
                    chipFiles.put(name, java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(chip.directory().resolve(name))));
                }
                content = content.withSim(Files.readString(context), chipFiles, request.skrPort());
                measurement = hex.formatHex(launch.measurement());
                hostData = launch.hostData();
                content = content.withEndorsement(dev.coffer.runtime.sandbox.EndorsementHandOff
                        .forMeasurement(request.simTeeDir(), measurement).orElse(null));
            }
            case "snp" -> {
                // the hardware fixes MEASUREMENT (read from its reports) and HOST_DATA (the sev-snp-guest
                // object's host-data, which the agent reads back from its own report: never from this disk)
                content = content.withSnp(request.skrPort());
                if (hostData == null) hostData = new byte[32];
                // what the secure processor will measure, known before the launch (SnpLaunch.measured
                // is what the command line passes): recorded for attestation, and its endorsement
                // handed to the agent to send with its evidence, as for the simulated TEE
                measurement = hex.formatHex(SnpLaunch.launchMeasurement(guest, snp));
                content = content.withEndorsement(dev.coffer.runtime.sandbox.EndorsementHandOff
                        .forMeasurement(request.simTeeDir(), measurement).orElse(null));
            }
            default -> throw new SandboxException("expected --tee none|sim|snp for the microVM, found \"" + request.tee() + "\"");
        }
        Path file = runDir.resolve("launch.img");
        LaunchDisk.write(file, content.withNetwork(network));
        // the image holds the chip's key with tee sim: readable by root only, like the context file
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return new Launch(new MicroVm.Disk(file, LaunchDisk.SERIAL, true), request.tee(), measurement,
                request.tee().equals("none") || hostData == null ? "" : hex.formatHex(hostData));
    }

    /**
     * Boots the group's VM with {@code layerDisks} attached read-only (by serial) and
     * {@code forwards} reachable on the host's 127.0.0.1, and returns once the agent answers.
     * On any failure QEMU is killed and the error carries the guest console's last lines.
     */
    public Sandbox launch(LaunchRequest request, List<MicroVm.Disk> layerDisks, List<MicroVm.PortForward> forwards)
            throws IOException {
        Path groupDir = request.groupDir().toAbsolutePath();
        Path guestHome = guestDir != null ? guestDir : groupDir.getParent().getParent().resolve("guest");
        boolean snp = request.tee().equals("snp");
        SnpPreflight.Result host = null;
        if (snp) {
            // before anything is written or started: say what this host lacks rather than let QEMU fail
            host = SnpPreflight.check(HostProbe.host(), request.snp(), guestHome);
            if (!host.ready()) {
                throw new SandboxException("cannot launch group " + request.groupName() + " on SEV-SNP: this host is not ready\n"
                        + host.render().stripTrailing());
            }
        }
        GuestImage guest;
        try {
            guest = GuestImage.load(guestHome);
            guest.requireCurrentAgent();
        } catch (GuestBuildException e) {
            throw new SandboxException(e.getMessage(), e);
        }
        String accelSetting = request.environment().getOrDefault("COFFER_ACCEL", System.getenv("COFFER_ACCEL"));
        Accelerator.Choice accel;
        try {
            accel = snp ? new Accelerator.Choice(Accelerator.KVM, "SEV-SNP runs only under KVM") : Accelerator.choose(accelSetting);
        } catch (IllegalArgumentException e) {
            throw new SandboxException(e.getMessage() + "; set COFFER_ACCEL to auto, kvm or tcg");
        }
        Path runDir = groupDir.resolve("vm");
        List<MicroVm.Disk> disks = new java.util.ArrayList<>(layerDisks);
        GuestNetwork.Plan network = networkPlan(request, forwards);
        dev.coffer.runtime.sandbox.SnpSettings snpSettings = snp ? resolvedSnp(request, host) : null;
        Launch launch = launchDisk(request, guest, runDir, network, snpSettings);
        disks.add(launch.disk());
        disks.add(scratchDisk(runDir));
        MicroVm.Config config = MicroVm.Config.forAgent(guest, runDir, accel.accelerator()).withDisks(disks)
                .withNetwork(forwards, network.endpoints());
        List<String> command = snp ? SnpLaunch.qemuCommand(snpInputs(config, snpSettings, host, launch), true)
                : MicroVm.qemuCommand(config, true);
        long pid;
        try {
            pid = MicroVm.startDetached(config, command, DAEMONIZE_TIMEOUT);
        } catch (IOException | IllegalArgumentException e) {
            throw new SandboxException("cannot start the group's microVM: " + e.getMessage(), e);
        }
        String startedAt = ProcessHandle.of(pid).flatMap(h -> h.info().startInstant()).map(Instant::toString).orElse(null);
        SandboxRecord record = new SandboxRecord(NAME, pid, startedAt, runDir.resolve("agent.sock").toString(), GUEST_STATE_DIR,
                launch.tee(), launch.measurementHex(), launch.hostDataHex());
        MicroVmSandbox sandbox = new MicroVmSandbox(record, runDir);
        try {
            awaitAgent(sandbox);
            return sandbox;
        } catch (IOException | RuntimeException e) {
            sandbox.destroy(0);
            throw e;
        }
    }

    /** The request's SNP settings with the firmware the preflight found. */
    private static dev.coffer.runtime.sandbox.SnpSettings resolvedSnp(LaunchRequest request, SnpPreflight.Result host) {
        dev.coffer.runtime.sandbox.SnpSettings s = request.snp();
        return new dev.coffer.runtime.sandbox.SnpSettings(host.firmware(), s.cpuType(), s.vcpus(), s.memoryMib(), s.idBlock(),
                s.idAuth(), s.authorKey());
    }

    /** The SNP launch's inputs: the host's C-bit from the preflight, the firmware it found, HOST_DATA of the launch disk. */
    private static SnpLaunch.Inputs snpInputs(MicroVm.Config config, dev.coffer.runtime.sandbox.SnpSettings resolved,
                                              SnpPreflight.Result host, Launch launch) {
        return new SnpLaunch.Inputs(config, resolved, host.cpuid().cbitPosition(), host.cpuid().reducedPhysBits(),
                java.util.HexFormat.of().parseHex(launch.hostDataHex()), SnpLaunch.GUEST_POLICY);
    }

    /**
     * A fresh, empty (sparse) scratch disk for one launch, writable, under serial
     * {@link dev.coffer.agent.volume.ScratchVolume#DISK_SERIAL}: the agent makes the group's scratch on it
     * when the host sends scratch_mount. A previous launch's file is replaced, never reused.
     */
    static MicroVm.Disk scratchDisk(Path runDir) throws IOException {
        Path file = runDir.resolve(SCRATCH_DISK_FILE);
        Files.deleteIfExists(file);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), SCRATCH_DISK_BYTES - 1);
        }
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return new MicroVm.Disk(file, dev.coffer.agent.volume.ScratchVolume.DISK_SERIAL, false);
    }

    private void awaitAgent(MicroVmSandbox sandbox) throws IOException {
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        AgentClient client = null;
        while (client == null) {
            try {
                client = MicroVm.connectRelay(Path.of(sandbox.record().socket()));
            } catch (IOException e) {
                if (!sandbox.agentAlive()) throw stopped(sandbox);
                if (System.nanoTime() > deadline) throw new SandboxException("expected the microVM's agent port, found none: " + e.getMessage());
                sleep(20);
            }
        }
        try (AgentClient c = client) {
            CompletableFuture<Result> ping = CompletableFuture.supplyAsync(() -> {
                try {
                    // the first answer comes once the guest has booted: as long as the boot may take
                    return c.call(new Request.Ping(), Result.class, readyTimeout);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, r -> Thread.ofVirtual().start(r));
            while (true) {
                try {
                    ping.get(100, TimeUnit.MILLISECONDS);
                    return;
                } catch (TimeoutException e) {
                    if (!sandbox.agentAlive()) throw stopped(sandbox);
                    if (consoleSays(sandbox, "COFFER-INIT failed")) {
                        throw new SandboxException("the microVM's init failed: " + sandbox.consoleTail());
                    }
                    if (System.nanoTime() > deadline) {
                        throw new SandboxException("expected the microVM's agent to answer within " + readyTimeout.toSeconds()
                                + " s, found no answer: " + sandbox.consoleTail());
                    }
                } catch (ExecutionException e) {
                    throw new SandboxException("the microVM's agent did not answer (" + e.getCause().getMessage() + "): "
                            + sandbox.consoleTail(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SandboxException("interrupted while waiting for the microVM's agent");
                }
            }
        }
    }

    private static SandboxException stopped(MicroVmSandbox sandbox) {
        return new SandboxException("expected the microVM to boot, found QEMU exited: " + sandbox.consoleTail()
                + " " + MicroVm.tail(sandbox.runDir().resolve("qemu.log")));
    }

    private static boolean consoleSays(MicroVmSandbox sandbox, String text) {
        try {
            Path log = sandbox.runDir().resolve("console.log");
            return Files.exists(log) && Files.readString(log).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public Sandbox attach(SandboxRecord record) {
        return new MicroVmSandbox(record, Path.of(record.socket()).getParent());
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
