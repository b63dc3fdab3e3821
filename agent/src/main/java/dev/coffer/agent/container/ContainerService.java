package dev.coffer.agent.container;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.coffer.agent.netns.AdoptedNamespace;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * The agent's state and actions: layer mounts, overlays, OCI bundles, containers run by the OCI
 * runtime, the group's shared network namespace and emptyDir volumes. Every path the host names
 * must lie inside the agent's state directory; the host never gets to mount its own paths.
 *
 * <pre>
 * ROOT/devices/...        MountDevice targets (read-only layer disks, verified)
 * ROOT/containers/ID/     upper, work, bundle/config.json, the overlay target
 * ROOT/logs/ID.log        stdout+stderr of the container (kept after shutdown)
 * ROOT/logs/ID.log.stderr the byte ranges of ID.log that came from stderr (ContainerLog)
 * ROOT/volumes/NAME       emptyDir volumes (sandbox:///volumes/NAME)
 * ROOT/scratch           the group's scratch (scratch_mount); containers/ and volumes/ are bind-mounted from it
 * ROOT/scratch.img       the process sandbox's encrypted scratch: a sparse file on a loop device
 * ROOT/netns              the group's network namespace (nsfs bind mount)
 * ROOT/oci-state          the OCI runtime's --root
 * </pre>
 */
public final class ContainerService {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final Pattern VOLUME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    /** A group volume, as the generated policy names it: the sandbox directory's volumes/NAME. */
    private static final String VOLUME_PREFIX = "sandbox:///volumes/";
    /** An encrypted volume opened by mount_encrypted_volume: the sandbox directory's encrypted/NAME. */
    private static final String ENCRYPTED_PREFIX = "sandbox:///encrypted/";
    // JSON escaping can grow output six-fold (a control byte becomes a six-character escape);
    // these bounds keep every response frame below Frames.MAX_FRAME_BYTES even for binary output.
    private static final int MAX_EXEC_OUTPUT = 256 * 1024;
    private static final int MAX_LOG_CHUNK = 512 * 1024;
    /** The process sandbox's encrypted scratch file in the state directory (ciphertext only). */
    public static final String SCRATCH_FILE = "scratch.img";

    private final Path root;
    private final String sandboxName;
    private final OciRuntime runtime;
    private final Path netns;
    private final Path hostsFile;
    private final Map<Path, LayerDevice> devices = new LinkedHashMap<>();
    private final Map<String, Container> containers = new LinkedHashMap<>();
    private final ExecProcesses execProcesses;
    private final dev.coffer.agent.volume.EncryptedVolumes encrypted;
    /** Where mount_device may read layers: the disks the sandbox was launched with. */
    private AttachedDisks attached = new AttachedDisks.Unrestricted();
    /**
     * True where the scratch is the disk the sandbox attached (a microVM's guest); false where it is
     * a file in the state directory on a loop device (the process sandbox). Either way no writable
     * layer or emptyDir is made before scratch_mount: the host cannot skip it.
     */
    private boolean scratchOnDisk;
    /** What scratch_mount set up, in words; null before it. */
    private String scratch;
    /** The scratch file system on the scratch disk; null before scratch_mount, or for scratch in the state directory. */
    private dev.coffer.agent.volume.ScratchVolume.Mounted scratchMount;

    private static final class Container {
        final String id;
        final Path dir;
        Path overlay;
        Path bundle;
        final Path log;
        String state = "new"; // new -> mounted -> created -> running -> exited
        Process runtimeProcess;
        ContainerLog output;
        Long pid;
        List<String> envList = List.of();
        String workingDir = "/";
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Container(String id, Path dir, Path log) {
            this.id = id;
            this.dir = dir;
            this.log = log;
        }
    }

    private ContainerService(Path root, String sandboxName, OciRuntime runtime, dev.coffer.agent.skr.KeyChannelTrust keyChannel) {
        this.root = root;
        this.sandboxName = sandboxName;
        this.runtime = runtime;
        this.execProcesses = new ExecProcesses(runtime);
        this.netns = root.resolve("netns");
        this.hostsFile = root.resolve("hosts");
        this.encrypted = new dev.coffer.agent.volume.EncryptedVolumes(root.resolve("encrypted"), keyChannel);
    }

    /**
     * Prepares the state directory and creates the group's network namespace with loopback up.
     */
    public static ContainerService start(Path root, String sandboxName, OciRuntime runtime) {
        return start(root, sandboxName, runtime, new AttachedDisks.Unrestricted(), dev.coffer.agent.skr.KeyChannelTrust.STRICT);
    }

    /**
     * As {@link #start(Path, String, OciRuntime)}, with mount_device sources limited to {@code attached}.
     *
     * @param keyChannel the pins encrypted volumes' keys are released under (the vaults' keys, their certificates)
     */
    public static ContainerService start(Path root, String sandboxName, OciRuntime runtime, AttachedDisks attached,
                                         dev.coffer.agent.skr.KeyChannelTrust keyChannel) {
        return start(root, sandboxName, runtime, attached, keyChannel, false);
    }

    /**
     * As {@link #start(Path, String, OciRuntime, AttachedDisks, dev.coffer.agent.skr.KeyChannelTrust)};
     * {@code scratchOnDisk} says where scratch_mount puts the group's scratch: the disk the sandbox
     * attached (a microVM) or a file in the state directory (the process sandbox).
     */
    public static ContainerService start(Path root, String sandboxName, OciRuntime runtime, AttachedDisks attached,
                                         dev.coffer.agent.skr.KeyChannelTrust keyChannel, boolean scratchOnDisk) {
        return start(root, sandboxName, runtime, attached, keyChannel, scratchOnDisk, null);
    }

    /**
     * As {@link #start(Path, String, OciRuntime, AttachedDisks, dev.coffer.agent.skr.KeyChannelTrust, boolean)};
     * {@code podNetwork} is the network namespace the group adopts instead of making its own (a
     * Kubernetes pod's, made by containerd through CNI), or null for a namespace of the group's own
     * with loopback only. An adopted namespace is checked ({@link AdoptedNamespace}) and bind-mounted
     * on ROOT/netns; a refused one leaves nothing behind and the agent does not start.
     */
    public static ContainerService start(Path root, String sandboxName, OciRuntime runtime, AttachedDisks attached,
                                         dev.coffer.agent.skr.KeyChannelTrust keyChannel, boolean scratchOnDisk,
                                         Path podNetwork) {
        ContainerService s = new ContainerService(root.toAbsolutePath().normalize(), sandboxName, runtime, keyChannel);
        s.attached = attached;
        s.scratchOnDisk = scratchOnDisk;
        try {
            // a namespace that cannot be adopted is refused before anything of the group exists
            if (podNetwork != null) AdoptedNamespace.check(podNetwork);
            for (String d : List.of("devices", "containers", "logs", "volumes")) {
                Files.createDirectories(s.root.resolve(d));
            }
            Files.createDirectories(runtime.stateRoot());
            Files.writeString(s.hostsFile, "127.0.0.1\tlocalhost " + sandboxName + "\n::1\tlocalhost ip6-localhost\n");
            if (podNetwork != null) {
                adopt(podNetwork, s.netns);
            } else if (!Mounts.isMountPoint(s.netns)) {
                Files.deleteIfExists(s.netns);
                Files.createFile(s.netns);
                // unshare --net=FILE keeps the namespace alive by bind-mounting it on FILE; the
                // command it runs inside brings loopback up so containers reach each other on localhost.
                HostCommand.Outcome up = HostCommand.run(List.of("unshare", "--net=" + s.netns, "ip", "link", "set", "dev", "lo", "up"), 30_000);
                if (up.exitCode() != 0) {
                    if (Mounts.isMountPoint(s.netns)) Mounts.unmount(s.netns);
                    throw AgentException.failed("expected to create the group's network namespace with loopback up, found `unshare --net="
                            + s.netns + " ip link set dev lo up` failing: " + up.output()
                            + "; install iproute2 and util-linux (apt-get install -y --no-install-recommends iproute2 util-linux)");
                }
            }
        } catch (AdoptedNamespace.RefusedException e) {
            throw AgentException.invalid(e.getMessage());
        } catch (IOException e) {
            throw AgentException.failed("cannot prepare the agent state directory " + root + ": " + e.getMessage());
        }
        return s;
    }

    /**
     * Binds the pod's network namespace on {@code netns}. Its interfaces and addresses are CNI's
     * (containerd's): only loopback is brought up, idempotently, so the group's containers and its
     * SKR API reach each other on 127.0.0.1 whatever the CNI configuration did about it.
     */
    private static void adopt(Path podNetwork, Path netns) throws IOException {
        if (Mounts.isMountPoint(netns)) {
            throw AgentException.failed("expected no network namespace bound at " + netns + " before adopting the pod's "
                    + podNetwork + ", found one; a state directory of a group that still runs cannot be reused");
        }
        Files.deleteIfExists(netns);
        Files.createFile(netns);
        try {
            AdoptedNamespace.bind(podNetwork, netns);
        } catch (IOException e) {
            Files.deleteIfExists(netns);
            throw AgentException.failed(e.getMessage());
        }
        HostCommand.Outcome up = HostCommand.run(List.of("nsenter", "--net=" + netns, "ip", "link", "set", "dev", "lo", "up"), 30_000);
        if (up.exitCode() != 0) {
            Mounts.unmount(netns);
            Files.deleteIfExists(netns);
            throw AgentException.failed("expected to bring loopback up in the pod's network namespace " + podNetwork
                    + ", found `nsenter --net=" + netns + " ip link set dev lo up` failing: " + up.output()
                    + "; install iproute2 and util-linux (apt-get install -y --no-install-recommends iproute2 util-linux)");
        }
    }

    public String networkNamespace() {
        return netns.toString();
    }

    public OciRuntime runtime() {
        return runtime;
    }

    // ---- encrypted volumes ---------------------------------------------------------------

    /**
     * Opens an encrypted volume the policy allowed (see {@link Request.MountEncryptedVolume});
     * {@code tee} supplies the evidence its key is released against.
     */
    public synchronized Result.Done mountEncryptedVolume(Request.MountEncryptedVolume r, dev.coffer.agent.skr.EvidenceSource tee) {
        if (r.name() == null || !VOLUME.matcher(r.name()).matches()) {
            throw AgentException.invalid("expected an encrypted volume name of lowercase letters, digits and '-', found \""
                    + r.name() + "\"");
        }
        try {
            encrypted.open(r, tee);
        } catch (dev.coffer.agent.volume.EncryptedVolumes.OpenFailure e) {
            throw new AgentException(e.conflict() ? Response.Failure.CONFLICT : Response.Failure.FAILED, e.getMessage());
        }
        return new Result.Done();
    }

    /**
     * Formats the disk attached for a new volume (see {@link Request.FormatEncryptedVolume}); only
     * in a sandbox whose disks are attached by serial (a microVM), never a file the host names.
     * The key is decoded here, used, and wiped; it never reaches an argument or a message.
     */
    public synchronized Result.VolumeFormatted formatEncryptedVolume(Request.FormatEncryptedVolume r) {
        dev.coffer.agent.volume.VolumeIntegrity integrity;
        try {
            integrity = dev.coffer.agent.volume.VolumeIntegrity.of(r.integrity());
        } catch (dev.coffer.agent.volume.VolumeException e) {
            throw AgentException.invalid("format_encrypted_volume: " + e.getMessage());
        }
        if (!scratchOnDisk) {
            throw AgentException.invalid("expected a sandbox with attached disks (the microVM) for format_encrypted_volume, found the"
                    + " process sandbox, where the host's own cryptsetup formats volumes (coffer volume create)");
        }
        if (r.key() == null || r.key().isEmpty()) throw AgentException.invalid("format_encrypted_volume needs the volume's key, found none");
        byte[] key;
        try {
            key = java.util.Base64.getUrlDecoder().decode(r.key());
        } catch (IllegalArgumentException e) {
            throw AgentException.invalid("expected the volume's key in base64url, found " + r.key().length() + " characters that are not");
        }
        Path disk = dev.coffer.agent.volume.EncryptedVolume.newDiskPath();
        try {
            String digest = dev.coffer.agent.volume.EncryptedVolume.formatDisk(disk, key, integrity);
            long size = dev.coffer.agent.volume.EncryptedVolume.diskBytes(disk);
            System.err.println("coffer-agent: formatted " + disk + " (LUKS2, integrity " + integrity.id() + "), header digest " + digest);
            return new Result.VolumeFormatted(digest, integrity.id(), size);
        } catch (dev.coffer.agent.volume.VolumeException e) {
            throw AgentException.failed("format_encrypted_volume failed: " + e.getMessage());
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
    }

    // ---- scratch -------------------------------------------------------------------------

    /**
     * Sets up the group's scratch (see {@link Request.ScratchMount}) at {@code STATE/scratch} and
     * puts {@code STATE/containers} (writable layers) and {@code STATE/volumes} (emptyDirs) on it,
     * so every path the host and the policy know stays the same. Encrypted scratch needs
     * device-mapper and the scratch disk (a microVM) or loop devices for a file in the state
     * directory (the process sandbox); where either is missing this fails and says which, and the
     * host may ask for unencrypted scratch, which the policy allows or not. Unencrypted scratch is
     * ext4 on the scratch disk, or in the process sandbox the state directory itself (a host directory).
     */
    public synchronized Result.Done scratchMount(Request.ScratchMount r) {
        required(r.target(), "target");
        Path target = inside(r.target(), root, "target");
        if (!target.equals(root.resolve("scratch"))) {
            throw AgentException.invalid("expected the scratch_mount target " + root.resolve("scratch") + ", found " + target);
        }
        if (scratch != null) {
            throw AgentException.conflict("expected no scratch yet, found " + scratch + "; scratch_mount is sent once per group");
        }
        if (!containers.isEmpty() || hasEntries(root.resolve("volumes"))) {
            throw AgentException.conflict("expected scratch_mount before the first container or volume, found "
                    + containers.size() + " container(s) already; writable data must not change place under them");
        }
        Path disk = dev.coffer.agent.volume.ScratchVolume.diskPath();
        dev.coffer.agent.volume.ScratchVolume.Mounted mounted;
        try {
            if (r.encrypted()) {
                String missing = scratchOnDisk ? dev.coffer.agent.volume.ScratchVolume.encryptedUnavailableReason(disk)
                        : dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason();
                if (missing != null) {
                    throw AgentException.failed("cannot make encrypted scratch in this sandbox: " + missing + "; unencrypted scratch"
                            + " (scratch_mount with encrypted false) runs only where the policy allows it (allow_unencrypted_scratch),"
                            + " otherwise run the group with --isolation microvm");
                }
                mounted = scratchOnDisk ? dev.coffer.agent.volume.ScratchVolume.mountEncrypted(disk, target, root)
                        : dev.coffer.agent.volume.ScratchVolume.mountEncryptedFile(root.resolve(SCRATCH_FILE),
                                dev.coffer.agent.volume.ScratchVolume.mapperNameFor(sandboxName), target, root);
            } else {
                mounted = scratchOnDisk && dev.coffer.agent.volume.ScratchVolume.isScratchDisk(disk)
                        ? dev.coffer.agent.volume.ScratchVolume.mountUnencrypted(disk, target) : null;
            }
        } catch (dev.coffer.agent.volume.VolumeException e) {
            throw AgentException.failed("scratch_mount failed: " + e.getMessage());
        }
        if (mounted != null) {
            try {
                for (String d : List.of("containers", "volumes")) {
                    Path on = target.resolve(d);
                    Files.createDirectories(on);
                    HostCommand.check(List.of("mount", "--bind", on.toString(), root.resolve(d).toString()), 30_000);
                }
            } catch (IOException | RuntimeException e) {
                for (String d : List.of("volumes", "containers")) {
                    if (Mounts.isMountPoint(root.resolve(d))) Mounts.unmount(root.resolve(d));
                }
                if (Mounts.isMountPoint(target)) Mounts.unmount(target);
                mounted.closeMapping();
                throw AgentException.failed("cannot put the containers and volumes on the scratch at " + target + ": " + e.getMessage());
            }
        }
        scratchMount = mounted;
        scratch = mounted != null ? mounted.describe() : "unencrypted, in the agent's state directory " + root;
        System.err.println("coffer-agent: scratch " + scratch);
        return new Result.Done();
    }

    /** What the group's scratch is, or null before scratch_mount. */
    public synchronized String scratch() {
        return scratch;
    }

    /**
     * Refuses writable data before the scratch exists, in every sandbox: where it goes is the
     * policy's decision (scratch_mount, encrypted or as allow_unencrypted_scratch permits), never
     * a default the host gets by not asking.
     */
    private void requireScratch(String what) {
        if (scratch == null) {
            throw AgentException.conflict("expected scratch_mount before " + what + ", found no scratch yet; writable layers and"
                    + " volumes go only on the group's scratch (send scratch_mount{target: " + root.resolve("scratch")
                    + ", encrypted: true} first, or encrypted: false where the policy sets allow_unencrypted_scratch)");
        }
    }

    private static boolean hasEntries(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
    }

    // ---- devices -------------------------------------------------------------------------

    /**
     * Makes a layer disk available read-only at {@code target}, but only the disk whose dm-verity
     * root hash is {@code deviceHash} (the hash the policy pinned). With device-mapper the disk is
     * opened by {@code veritysetup} and every read is checked by the kernel; without it (this
     * process sandbox on most hosts) the whole disk is re-hashed first and then loop-mounted
     * read-only, limited to the verified ext4 bytes.
     */
    public synchronized Result mountDevice(Request.MountDevice req) {
        required(req.source(), "source");
        required(req.target(), "target");
        required(req.deviceHash(), "deviceHash");
        Path source = absolute(req.source(), "source");
        attached.check(req.source(), req.deviceHash());
        Path target = inside(req.target(), root.resolve("devices"), "target");
        if (!req.deviceHash().matches("[0-9a-f]{64}")) {
            throw AgentException.invalid("expected deviceHash as 64 lowercase hex digits (the dm-verity root hash), found \""
                    + req.deviceHash() + "\"");
        }
        if (devices.containsKey(target)) {
            throw AgentException.conflict("expected an unused mount_device target, found " + target
                    + " already mounted from " + devices.get(target).source() + "; unmount it first");
        }
        source = layerSource(source);
        try {
            Files.createDirectories(target);
        } catch (IOException e) {
            throw AgentException.failed("cannot create " + target + ": " + e.getMessage());
        }
        LayerDevice device;
        try {
            device = LayerDevices.open(source, target, req.deviceHash(), root.resolve("devices"));
        } catch (AgentException e) {
            deleteEmptyDir(target);
            throw e;
        }
        devices.put(target, device);
        return new Result.Done();
    }

    /**
     * A layer disk is a file (the process sandbox) or a block device (a disk the host attached to
     * the microVM, named by serial under /dev/disk/by-id). Either way its content is checked
     * against the root hash before use, so the name only says where to read.
     */
    private static Path layerSource(Path source) {
        if (Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) return source;
        Path real;
        try {
            real = source.toRealPath();
        } catch (IOException e) {
            throw AgentException.invalid("expected the layer source " + source
                    + " to be a layer disk file or block device (ext4 + dm-verity tree), found nothing");
        }
        if (!real.startsWith("/dev/") || !dev.coffer.agent.volume.EncryptedVolume.isBlockDevice(real)) {
            throw AgentException.invalid("expected the layer source " + source
                    + " to be a layer disk file or a block device under /dev, found " + real + " (something else)");
        }
        return real;
    }

    public synchronized Result unmountDevice(Request.UnmountDevice req) {
        required(req.target(), "target");
        Path target = inside(req.target(), root.resolve("devices"), "target");
        if (!devices.containsKey(target)) {
            throw AgentException.notFound("expected a mounted device at " + target + ", found none; mounted: " + devices.keySet());
        }
        for (Container c : containers.values()) {
            if (c.overlay != null && "mounted created running".contains(c.state)) {
                throw AgentException.conflict("expected no overlay to use " + target + ", found container " + c.id
                        + " still " + c.state + "; shut it down first");
            }
        }
        LayerDevices.close(devices.remove(target));
        deleteEmptyDir(target);
        return new Result.Done();
    }

    // ---- overlays ------------------------------------------------------------------------

    public synchronized Result mountOverlay(Request.MountOverlay req) {
        String id = containerId(req.containerID());
        if (req.layerPaths() == null || req.layerPaths().isEmpty()) {
            throw AgentException.invalid("expected layerPaths with at least one mounted layer, found none");
        }
        Path dir = root.resolve("containers").resolve(id);
        Path target = inside(req.target(), dir, "target");
        Container existing = containers.get(id);
        if (existing != null && !existing.state.equals("exited")) {
            throw AgentException.conflict("expected a new containerID, found " + id + " already " + existing.state);
        }
        if (existing != null && existing.overlay != null) {
            throw AgentException.conflict("expected container " + id + " to be shut down before reuse, its overlay is still mounted");
        }
        requireScratch("the writable layer of " + id);
        List<Path> lowerTopFirst = new ArrayList<>();
        for (String layer : req.layerPaths()) {
            Path p = inside(layer, root.resolve("devices"), "layerPaths");
            if (!devices.containsKey(p)) {
                throw AgentException.invalid("expected every layerPath to be a mount_device target, found " + p
                        + " which is not mounted");
            }
            lowerTopFirst.addFirst(p);
        }
        Path upper = dir.resolve("upper");
        Path work = dir.resolve("work");
        try {
            if (Files.exists(dir)) Mounts.deleteTree(dir);
            Files.createDirectories(upper);
            Files.createDirectories(work);
            Files.createDirectories(target);
        } catch (IOException e) {
            throw AgentException.failed("cannot create the overlay directories of " + id + ": " + e.getMessage());
        }
        Mounts.overlay(lowerTopFirst, upper, work, target);
        Container c = new Container(id, dir, root.resolve("logs").resolve(id + ".log"));
        c.overlay = target;
        c.state = "mounted";
        containers.put(id, c);
        return new Result.Done();
    }

    public synchronized Result unmountOverlay(Request.UnmountOverlay req) {
        Container c = container(req.containerID());
        Path target = inside(req.target(), c.dir, "target");
        if (c.overlay == null || !c.overlay.equals(target)) {
            throw AgentException.notFound("expected the overlay of " + c.id + " at " + target + ", found "
                    + (c.overlay == null ? "none mounted" : c.overlay));
        }
        if (c.state.equals("running")) {
            throw AgentException.conflict("expected container " + c.id + " to be stopped before unmounting its overlay, found it running");
        }
        Mounts.unmount(c.overlay);
        c.overlay = null;
        return new Result.Done();
    }

    // ---- containers ----------------------------------------------------------------------

    /**
     * Writes the container's bundle. {@code capabilities} are the five sets the policy decision
     * returned: the only capabilities the container gets, whatever the request listed; {@code
     * limits} are the policy container's.
     */
    public synchronized Result createContainer(Request.CreateContainer req,
                                               dev.coffer.policy.enforce.EnforcementRequest.Capabilities capabilities,
                                               ResourceLimits limits) {
        Container c = container(req.containerID());
        if (!c.state.equals("mounted")) {
            throw AgentException.conflict("expected container " + c.id + " with a mounted overlay and no bundle, found it "
                    + c.state);
        }
        Path rootfs = inside(req.rootfs(), c.dir, "rootfs");
        if (!rootfs.equals(c.overlay)) {
            throw AgentException.invalid("expected rootfs to be the overlay of " + c.id + " (" + c.overlay + "), found " + rootfs);
        }
        if (req.argList() == null || req.argList().isEmpty() || req.argList().getFirst().isEmpty()) {
            throw AgentException.invalid("expected a non-empty argList for " + c.id
                    + ", found none; set command/args in the spec or an Entrypoint/Cmd in the image");
        }
        if (req.envList() != null) {
            for (String e : req.envList()) {
                if (e == null || e.indexOf('=') <= 0) {
                    throw AgentException.invalid("expected envList entries NAME=VALUE, found \"" + e + "\"");
                }
            }
        }
        if (req.workingDir() != null && !req.workingDir().isEmpty() && !req.workingDir().startsWith("/")) {
            throw AgentException.invalid("expected an absolute workingDir, found \"" + req.workingDir() + "\"");
        }
        if (req.capabilities() != null) {
            for (String cap : req.capabilities()) {
                if (cap == null || !cap.matches("CAP_[A-Z_]+")) {
                    throw AgentException.invalid("expected capabilities named CAP_*, found \"" + cap + "\"");
                }
            }
        }
        for (List<String> set : List.of(capabilities.bounding(), capabilities.effective(), capabilities.inheritable(),
                capabilities.permitted(), capabilities.ambient())) {
            for (String cap : set) {
                if (cap == null || !cap.matches("CAP_[A-Z_0-9]+")) {
                    throw AgentException.invalid("expected the policy decision's capabilities named CAP_*, found \"" + cap + "\"");
                }
            }
        }
        if ((limits.memoryBytes() > 0 || limits.pids() > 0) && !runtime.appliesResourceLimits()) {
            // the policy's limits would be silently ignored: refuse rather than run unconfined
            throw AgentException.failed("expected an OCI runtime that applies the policy's limits (memory " + limits.memoryBytes()
                    + " bytes, pids " + limits.pids() + ") to " + c.id + ", found " + runtime.describe()
                    + ", which runs containers without cgroups on this host; use --runtime runc");
        }
        int[] ids = UserLookup.resolve(rootfs, req.user());
        List<Integer> additionalGids = UserLookup.additionalGids(req.additionalGids());
        List<Request.Mount> mounts = resolveMounts(c, req.mounts() == null ? List.of() : req.mounts());
        Path bundle = c.dir.resolve("bundle");
        Map<String, Object> config = BundleConfig.build(req, capabilities, limits, rootfs.toString(), ids[0], ids[1], additionalGids, mounts,
                // the agent's pid keeps cgroups of same-named groups (other COFFER_HOMEs) apart
                netns.toString(), "coffer-" + sandboxName + "-" + ProcessHandle.current().pid() + "-" + c.id);
        try {
            Files.createDirectories(bundle);
            JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build()
                    .writeValue(bundle.resolve("config.json").toFile(), config);
        } catch (IOException e) {
            deleteContentCopies(c);
            throw AgentException.failed("cannot write the bundle of " + c.id + ": " + e.getMessage());
        }
        c.bundle = bundle;
        c.envList = req.envList() == null ? List.of() : List.copyOf(req.envList());
        c.workingDir = req.workingDir() == null || req.workingDir().isBlank() ? "/" : req.workingDir();
        c.state = "created";
        return status(c);
    }

    private List<Request.Mount> resolveMounts(Container c, List<Request.Mount> requested) {
        ContentMount.checkAll(requested);
        for (Request.Mount m : requested) {
            if (m.files() != null && !ContentMount.isContent(m)) {
                throw AgentException.invalid("expected files only with a mount source " + dev.coffer.policy.enforce.ContentVolumeKind.REQUEST_PREFIX
                        + "KIND/NAME, found them with \"" + m.source() + "\" at " + m.destination());
            }
        }
        try {
            return mountsOf(c, requested);
        } catch (RuntimeException e) {
            deleteContentCopies(c);
            throw e;
        }
    }

    /** Removes the container's copies of host-supplied volumes: a create that failed leaves none behind. */
    private static void deleteContentCopies(Container c) {
        try {
            Mounts.deleteTree(c.dir.resolve("files"));
        } catch (RuntimeException ignored) {
            // deleteTree reports nothing it could not remove; the container directory goes at shutdown
        }
    }

    /** The mounts of the container's bundle for the requested ones, with their sandbox paths (made here). */
    private List<Request.Mount> mountsOf(Container c, List<Request.Mount> requested) {
        List<Request.Mount> out = new ArrayList<>();
        boolean hasHosts = false;
        // a volume mounted at two destinations is copied once (ContentMount.checkAll: the same files both times)
        java.util.Set<Path> copied = new java.util.HashSet<>();
        for (Request.Mount m : requested) {
            if (m.destination() == null || !m.destination().startsWith("/") || m.destination().contains("/../")
                    || m.destination().endsWith("/..")) {
                throw AgentException.invalid("expected an absolute mount destination without '..', found \"" + m.destination() + "\"");
            }
            hasHosts |= m.destination().equals("/etc/hosts");
            List<String> options = m.options() == null ? List.of() : m.options();
            if ("tmpfs".equals(m.type())) {
                out.add(new Request.Mount(m.destination(), "tmpfs", "tmpfs", options));
                continue;
            }
            if (ContentMount.isContent(m)) {
                ContentMount.digests(m); // the checks the policy decided on
                Path copy = ContentMount.source(m).in(c.dir);
                try {
                    if (copied.add(copy)) ContentMount.write(m, copy);
                } catch (IOException e) {
                    throw AgentException.failed("cannot copy the files of " + m.source() + " into the sandbox at " + copy + ": "
                            + e.getMessage());
                }
                out.add(new Request.Mount(m.destination(), copy.toString(), "bind", List.of("rbind", "ro")));
                continue;
            }
            if (m.source() != null && m.source().startsWith(ENCRYPTED_PREFIX)) {
                String name = encryptedName(m);
                Path opened = encrypted.mountPoint(name);
                if (opened == null) {
                    throw AgentException.conflict("expected encrypted volume " + name + " to be open for the mount at "
                            + m.destination() + ", found it closed; send mount_encrypted_volume first");
                }
                out.add(new Request.Mount(m.destination(), opened.toString(), "bind",
                        List.of("rbind", options.contains("ro") ? "ro" : "rw")));
                continue;
            }
            String name = volumeName(m);
            Path volume = root.resolve("volumes").resolve(name);
            requireScratch("emptyDir volume " + name);
            try {
                if (!Files.isDirectory(volume)) {
                    Files.createDirectories(volume);
                    // like Kubernetes emptyDir: writable by whichever user the container runs as
                    Files.setPosixFilePermissions(volume, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
                }
            } catch (IOException e) {
                throw AgentException.failed("cannot create the emptyDir volume " + volume + ": " + e.getMessage());
            }
            List<String> opts = new ArrayList<>(List.of("rbind"));
            opts.add(options.contains("ro") ? "ro" : "rw");
            out.add(new Request.Mount(m.destination(), volume.toString(), "bind", opts));
        }
        if (!hasHosts) {
            out.add(new Request.Mount("/etc/hosts", hostsFile.toString(), "bind", List.of("rbind", "ro")));
        }
        return out;
    }

    private static String encryptedName(Request.Mount m) {
        String name = m.source().substring(ENCRYPTED_PREFIX.length());
        if (!VOLUME.matcher(name).matches()) {
            throw AgentException.invalid("expected an encrypted volume name of lowercase letters, digits and '-', found \"" + name + "\"");
        }
        return name;
    }

    private static String volumeName(Request.Mount m) {
        String source = m.source() == null ? "" : m.source();
        if (!source.startsWith(VOLUME_PREFIX)) {
            throw AgentException.invalid("expected a mount source sandbox:///volumes/NAME or a tmpfs, found \""
                    + source + "\"; the host may not mount its own paths into containers");
        }
        String name = source.substring(VOLUME_PREFIX.length());
        if (!VOLUME.matcher(name).matches()) {
            throw AgentException.invalid("expected a volume name of lowercase letters, digits and '-', found \"" + name + "\"");
        }
        return name;
    }

    // ---- facts the policy input needs (read-only: nothing here changes state) --------------

    /** The container's own environment and working directory, which exec inherits. */
    public record ProcessDefaults(List<String> envList, String workingDir) {}

    /** A user or group id with its name in the image (the name the request used, else /etc/passwd's or /etc/group's, else ""). */
    public record Id(int id, String name) {}

    /** The ids a request's user resolves to: the user, then the process's groups (the primary one first, each once). */
    public record ResolvedUser(Id user, List<Id> groups) {}

    public synchronized ProcessDefaults processDefaults(String containerID) {
        Container c = container(containerID);
        return new ProcessDefaults(c.envList, c.workingDir);
    }

    /**
     * Resolves {@code user} and {@code additionalGids} in the container's mounted overlay, as
     * create_container will. Numeric ids get their names from the image's /etc/passwd and
     * /etc/group (as Azure's guest does), so a policy that pins a name matches the ids CRI
     * resolved from it (containerd passes numbers only).
     */
    public synchronized ResolvedUser resolveUserForPolicy(String containerID, String user, List<Integer> additionalGids) {
        Container c = container(containerID);
        if (c.overlay == null) {
            throw AgentException.conflict("expected container " + c.id + " to have its overlay mounted, found none;"
                    + " send mount_overlay first");
        }
        int[] ids = UserLookup.resolve(c.overlay, user);
        String userPart = user == null ? "" : user.split(":", -1)[0];
        String groupPart = user != null && user.contains(":") ? user.substring(user.indexOf(':') + 1) : "";
        Id uid = new Id(ids[0], userPart.isEmpty() || userPart.matches("[0-9]*") ? UserLookup.userName(c.overlay, ids[0]) : userPart);
        List<Id> groups = new ArrayList<>();
        groups.add(new Id(ids[1], groupPart.isEmpty() || groupPart.matches("[0-9]*") ? UserLookup.groupName(c.overlay, ids[1]) : groupPart));
        for (int gid : UserLookup.additionalGids(additionalGids)) {
            if (gid != ids[1]) groups.add(new Id(gid, UserLookup.groupName(c.overlay, gid)));
        }
        return new ResolvedUser(uid, List.copyOf(groups));
    }

    /**
     * The host path a requested mount of container {@code containerID} resolves to: what the
     * policy's sandbox:// rule is matched against (a host-supplied volume: the container's copy).
     */
    public synchronized String mountSourceForPolicy(String containerID, Request.Mount m) {
        if ("tmpfs".equals(m.type())) return "tmpfs";
        if (ContentMount.isContent(m)) return ContentMount.source(m).in(container(containerID).dir).toString();
        if (m.source() != null && m.source().startsWith(ENCRYPTED_PREFIX)) {
            return root.resolve("encrypted").resolve(encryptedName(m)).toString();
        }
        return root.resolve("volumes").resolve(volumeName(m)).toString();
    }

    /**
     * The digests of a requested mount's host-supplied files, computed here from the bytes sent,
     * sorted by path (empty for other mounts), after the checks on them: what the policy pins.
     */
    public static List<dev.coffer.policy.enforce.FileDigest> mountFilesForPolicy(Request.Mount m) {
        if (!ContentMount.isContent(m)) {
            if (m.files() != null) {
                throw AgentException.invalid("expected files only with a mount source " + dev.coffer.policy.enforce.ContentVolumeKind.REQUEST_PREFIX
                        + "KIND/NAME, found them with \"" + m.source() + "\" at " + m.destination());
            }
            return List.of();
        }
        return ContentMount.digests(m);
    }

    /** The checks over all of a create's host-supplied volumes (their total size, a volume the same at each of its destinations). */
    public static void checkContentMounts(List<Request.Mount> mounts) {
        ContentMount.checkAll(mounts);
    }

    /** The capabilities a container gets when the request names none. */
    public static List<String> defaultCapabilities() {
        return BundleConfig.DEFAULT_CAPABILITIES;
    }

    /** How layer disks are checked on this host: "dm-verity" or "verified-in-full+loop". */
    public String layerVerification() {
        return LayerDevices.method();
    }

    public Path stateDir() {
        return root;
    }

    public Result startContainer(Request.StartContainer req) {
        Container c;
        Process p;
        Path pidFile;
        synchronized (this) {
            c = container(req.containerID());
            if (!c.state.equals("created")) {
                throw AgentException.conflict("expected container " + c.id + " to be created and not yet started, found it " + c.state);
            }
            pidFile = c.dir.resolve("pid");
            try {
                Files.deleteIfExists(pidFile);
                // runc run stays in the foreground as the agent's child, so its exit status is the
                // container's; without a terminal it hands its stdio (two pipes) to the container, and
                // the agent copies them into the log, keeping which bytes came from stderr (CRI logs
                // the two streams apart)
                p = new ProcessBuilder(runtime.command("run", "--bundle", c.bundle.toString(), "--pid-file",
                        pidFile.toString(), c.id))
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                c.output = ContainerLog.copy(c.log, p);
            } catch (IOException e) {
                throw AgentException.failed("cannot start " + runtime.name() + " for " + c.id + ": " + e.getMessage());
            }
            c.runtimeProcess = p;
            c.state = "running";
            Container fc = c;
            p.onExit().thenAccept(done -> {
                fc.output.drain(); // the last output is in the log before anyone learns of the exit
                synchronized (ContainerService.this) {
                    fc.state = "exited";
                }
                fc.exit.complete(done.exitValue());
            });
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Long pid = readPid(pidFile);
            if (pid != null) {
                synchronized (this) {
                    c.pid = pid;
                }
                return status(c);
            }
            if (!p.isAlive()) {
                c.output.drain();
                String tail = tail(c.log, 400);
                throw AgentException.failed("expected container " + c.id + " to start, " + runtime.name()
                        + " exited with code " + p.exitValue() + " before it ran: " + tail);
            }
            sleep(20);
        }
        throw AgentException.failed("expected container " + c.id + " to start within 30 s, it did not; see " + c.log);
    }

    /**
     * Runs a process in the container. With {@code returnOutput} false (the container's policy
     * does not allow stdio access) its output is discarded, never read, and only its exit code is
     * returned, as hcsshim does.
     */
    public Result execInContainer(Request.ExecInContainer req, boolean returnOutput) {
        Container c;
        synchronized (this) {
            c = container(req.containerID());
            if (!c.state.equals("running")) {
                throw AgentException.conflict("expected container " + c.id + " to be running for exec, found it " + c.state);
            }
        }
        if (req.argList() == null || req.argList().isEmpty()) {
            throw AgentException.invalid("expected a non-empty argList to exec, found none");
        }
        List<String> args = new ArrayList<>(List.of("exec"));
        if (req.workingDir() != null && !req.workingDir().isBlank()) {
            args.addAll(List.of("--cwd", req.workingDir()));
        }
        for (String e : req.envList() == null ? List.<String>of() : req.envList()) {
            if (e == null || e.indexOf('=') <= 0) {
                throw AgentException.invalid("expected envList entries NAME=VALUE, found \"" + e + "\"");
            }
            args.addAll(List.of("--env", e));
        }
        if (req.streaming()) {
            Path pidFile = c.dir.resolve("exec-" + req.execID() + ".pid");
            args.addAll(List.of("--pid-file", pidFile.toString()));
            args.add(c.id);
            args.addAll(req.argList());
            execProcesses.start(c.id, req, runtime.command(args.toArray(String[]::new)), pidFile, returnOutput);
            return new Result.Done();
        }
        args.add(c.id);
        args.addAll(req.argList());
        long timeout = req.timeoutMillis() <= 0 ? 60_000 : Math.min(req.timeoutMillis(), 3_600_000);
        Process p;
        try {
            ProcessBuilder pb = new ProcessBuilder(runtime.command(args.toArray(String[]::new)))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            if (!returnOutput) {
                pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
            }
            p = pb.start();
        } catch (IOException e) {
            throw AgentException.failed("cannot start " + runtime.name() + " exec: " + e.getMessage());
        }
        BoundedCapture out = BoundedCapture.of(p.getInputStream());
        BoundedCapture err = BoundedCapture.of(p.getErrorStream());
        boolean timedOut = false;
        try {
            if (!p.waitFor(timeout, TimeUnit.MILLISECONDS)) {
                timedOut = true;
                p.destroy(); // runc forwards SIGTERM to the exec'd process
                if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            out.join();
            err.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw AgentException.failed("interrupted while running exec in " + c.id);
        }
        return new Result.ExecResult(p.exitValue(), out.text(), err.text(), timedOut, out.truncated() || err.truncated());
    }

    /** Stdin bytes for an exec process started with stdin (the policy allowed stdin). */
    public Result writeExecStdin(Request.WriteExecStdin req) {
        return execProcesses.writeStdin(req);
    }

    /** A chunk of an exec process's output, its exit once all of it was read. */
    public Result readExecOutput(Request.ReadExecOutput req) {
        return execProcesses.read(req);
    }

    /** The command of a live exec process: what the policy's signal rule judges. */
    public List<String> execArgList(String containerID, String execID) {
        return execProcesses.argList(containerID, execID);
    }

    public Result signal(Request.SignalContainerProcess req) {
        if (req.execID() != null) {
            if (req.signal() < 1 || req.signal() > 64) {
                throw AgentException.invalid("expected a signal number 1..64, found " + req.signal());
            }
            execProcesses.signal(req.containerID(), req.execID(), req.signal());
            return new Result.Done();
        }
        Container c;
        synchronized (this) {
            c = container(req.containerID());
            if (!c.state.equals("running")) {
                throw AgentException.conflict("expected container " + c.id + " to be running to signal it, found it " + c.state);
            }
        }
        if (req.signal() < 1 || req.signal() > 64) {
            throw AgentException.invalid("expected a signal number 1..64, found " + req.signal());
        }
        HostCommand.Outcome o = HostCommand.run(runtime.command("kill", c.id, Integer.toString(req.signal())), 30_000);
        if (o.exitCode() != 0 && c.runtimeProcess.isAlive()) {
            throw AgentException.failed(runtime.name() + " kill " + c.id + " " + req.signal() + " failed: " + o.output());
        }
        return new Result.Done();
    }

    public Result waitContainer(Request.WaitContainer req) {
        Container c;
        synchronized (this) {
            c = container(req.containerID());
        }
        if (req.timeoutMillis() > 0 && !c.exit.isDone() && c.runtimeProcess != null) {
            try {
                c.exit.get(Math.min(req.timeoutMillis(), 3_600_000), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // still running: the status says so
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                throw AgentException.failed("waiting for " + c.id + " failed: " + e.getCause());
            }
        }
        return status(c);
    }

    public Result readLogs(Request.ReadLogs req) {
        Container c;
        synchronized (this) {
            c = container(req.containerID());
        }
        // exited is read first: when it says so, every byte the container wrote is in the file already
        boolean exited = c.exit.isDone();
        Result.LogChunk chunk = (Result.LogChunk) readFileChunk(c.log, req.offset(), req.maxBytes());
        return new Result.LogChunk(chunk.offset(), chunk.nextOffset(), chunk.text(), exited);
    }

    /** Up to {@code maxBytes} of {@code file} from {@code offset} (empty past the end or when the file is absent). */
    public Result readFileChunk(Path file, long offset, int maxBytes) {
        if (offset < 0) throw AgentException.invalid("expected a log offset >= 0, found " + offset);
        int max = maxBytes <= 0 ? 64 * 1024 : Math.min(maxBytes, MAX_LOG_CHUNK);
        if (!Files.exists(file)) return new Result.LogChunk(offset, offset, "", false);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long length = f.length();
            if (offset >= length) return new Result.LogChunk(offset, offset, "", false);
            byte[] buf = new byte[(int) Math.min(max, length - offset)];
            f.seek(offset);
            f.readFully(buf);
            return new Result.LogChunk(offset, offset + buf.length, new String(buf, StandardCharsets.UTF_8), false);
        } catch (IOException e) {
            throw AgentException.failed("cannot read " + file.getFileName() + ": " + e.getMessage());
        }
    }

    public Result shutdownContainer(Request.ShutdownContainer req) {
        Container c;
        synchronized (this) {
            c = container(req.containerID());
        }
        shutdown(c, req.graceMillis());
        return status(c);
    }

    /** Stops every container, unmounts everything the agent mounted and removes the network. */
    public void shutdownAll(long graceMillis) {
        List<Container> all;
        synchronized (this) {
            all = List.copyOf(containers.values());
        }
        List<Thread> stoppers = new ArrayList<>();
        for (Container c : all) {
            stoppers.add(Thread.ofVirtual().start(() -> shutdown(c, graceMillis)));
        }
        for (Thread t : stoppers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            // containers are gone, so nothing holds the volumes: unmount and close the dm-crypt mappings
            String volumeFailure = null;
            try {
                encrypted.closeAll();
            } catch (dev.coffer.agent.volume.VolumeException e) {
                volumeFailure = e.getMessage();
            }
            for (Path target : List.copyOf(devices.keySet())) {
                LayerDevices.close(devices.remove(target));
            }
            for (Path leftover : Mounts.mountedUnder(root)) {
                Mounts.unmount(leftover);
            }
            if (scratchMount != null) {
                // unmounted with the rest above: dropping the mapping drops the scratch's key
                try {
                    scratchMount.closeMapping();
                } catch (dev.coffer.agent.volume.VolumeException e) {
                    volumeFailure = volumeFailure == null ? e.getMessage() : volumeFailure + "; " + e.getMessage();
                }
                scratchMount = null;
            }
            for (String d : List.of("devices", "containers", "volumes", "encrypted", "scratch", SCRATCH_FILE)) {
                Mounts.deleteTree(root.resolve(d));
            }
            Mounts.deleteTree(runtime.stateRoot());
            try {
                Files.deleteIfExists(netns);
                Files.deleteIfExists(hostsFile);
            } catch (IOException e) {
                throw AgentException.failed("cannot remove " + netns + ": " + e.getMessage());
            }
            if (volumeFailure != null) throw AgentException.failed(volumeFailure);
        }
    }

    private void shutdown(Container c, long graceMillis) {
        execProcesses.endAll(c.id);
        // 0 is "no grace": SIGKILL right after SIGTERM, as CRI's SIGKILL and `coffer stop --grace 0` ask
        // (it used to mean the 10 s default, so every kill waited 10 s); only a negative one means the default
        long grace = Request.graceOf(graceMillis).toMillis();
        Process p = c.runtimeProcess;
        if (p != null && p.isAlive()) {
            HostCommand.run(runtime.command("kill", c.id, "TERM"), 30_000);
            if (!waitExit(c, grace)) {
                HostCommand.run(runtime.command("kill", "--all", c.id, "KILL"), 30_000);
                if (!waitExit(c, 10_000)) {
                    p.destroyForcibly();
                    waitExit(c, 5_000);
                }
            }
        }
        synchronized (this) {
            if (c.runtimeProcess != null || c.bundle != null) {
                // delete --force is idempotent for our purpose: it removes the runtime's state
                // and cgroup whether the container is still there or already gone.
                HostCommand.run(runtime.command("delete", "--force", c.id), 30_000);
            }
            if (c.overlay != null) {
                Mounts.unmount(c.overlay);
                c.overlay = null;
            }
            Mounts.deleteTree(c.dir);
            if (!c.exit.isDone()) c.state = "exited";
            c.bundle = null;
        }
    }

    private boolean waitExit(Container c, long millis) {
        try {
            c.exit.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            return true;
        }
    }

    public synchronized List<Result.ContainerStatus> statuses() {
        List<Result.ContainerStatus> out = new ArrayList<>();
        for (Container c : containers.values()) out.add(status(c));
        return out;
    }

    private synchronized Result.ContainerStatus status(Container c) {
        Integer exitCode = c.exit.isDone() ? c.exit.getNow(null) : null;
        String state = exitCode != null ? "exited" : c.state;
        return new Result.ContainerStatus(c.id, state, c.pid, exitCode, c.log.toString());
    }

    // ---- checks --------------------------------------------------------------------------

    private Container container(String id) {
        String checked = containerId(id);
        Container c = containers.get(checked);
        if (c == null) {
            throw AgentException.notFound("expected a container " + checked + " (mount_overlay creates it), found none; known: "
                    + containers.keySet());
        }
        return c;
    }

    private static String containerId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw AgentException.invalid("expected a containerID of letters, digits, '_', '.', '-' (max 128), found \""
                    + id + "\"");
        }
        return id;
    }

    private static void required(String value, String field) {
        if (value == null || value.isBlank()) {
            throw AgentException.invalid("expected a value for \"" + field + "\", found none");
        }
    }

    private static Path absolute(String value, String field) {
        Path p = Path.of(value);
        if (!p.isAbsolute() || !p.normalize().equals(p)) {
            throw AgentException.invalid("expected \"" + field + "\" to be an absolute normalized path, found \"" + value + "\"");
        }
        return p;
    }

    /** A host-named path must be strictly inside {@code base}: refuses '..', relative and outside paths. */
    private static Path inside(String value, Path base, String field) {
        required(value, field);
        Path p = absolute(value, field);
        if (!p.startsWith(base) || p.equals(base)) {
            throw AgentException.invalid("expected \"" + field + "\" inside " + base + ", found \"" + value + "\"");
        }
        return p;
    }

    private static void deleteEmptyDir(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a non-empty directory after unmount means someone wrote there; leave it for inspection
        }
    }

    private static Long readPid(Path pidFile) {
        try {
            String s = Files.readString(pidFile).strip();
            return s.isEmpty() ? null : Long.parseLong(s);
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    static String tail(Path file, int maxChars) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8).strip();
            s = s.length() > maxChars ? "..." + s.substring(s.length() - maxChars) : s;
            return s.isEmpty() ? "(no output)" : s.replace('\n', ' ');
        } catch (IOException e) {
            return "(no output)";
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads a stream on a virtual thread, keeping at most MAX_EXEC_OUTPUT bytes and discarding the rest. */
    private record BoundedCapture(Thread thread, ByteArrayOutputStream buffer, boolean[] overflow) {
        static BoundedCapture of(InputStream in) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            boolean[] overflow = {false};
            Thread t = Thread.ofVirtual().start(() -> {
                byte[] chunk = new byte[8192];
                try (in) {
                    int n;
                    while ((n = in.read(chunk)) > 0) {
                        int keep = Math.min(n, MAX_EXEC_OUTPUT - buffer.size());
                        if (keep > 0) buffer.write(chunk, 0, keep);
                        if (keep < n) overflow[0] = true;
                    }
                } catch (IOException ignored) {
                    // the process went away; what was read is the output
                }
            });
            return new BoundedCapture(t, buffer, overflow);
        }

        void join() throws InterruptedException {
            thread.join(10_000);
        }

        String text() {
            return buffer.toString(StandardCharsets.UTF_8);
        }

        boolean truncated() {
            return overflow[0];
        }
    }
}
