package dev.coffer.runtime.guest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.measure.LaunchMeasurement;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A built guest: the uncompressed kernel, our initramfs, the dm-verity-protected JRE/agent disk,
 * and the kernel command line that binds them (it carries the disk's root hash). Described by
 * {@code guest.json} in the guest directory.
 *
 * @param dir            the guest directory ($COFFER_HOME/guest)
 * @param kernelVersion  the Debian kernel release, e.g. 6.1.0-56-amd64
 * @param agentRootHash  dm-verity root hash of the agent disk (lowercase hex, SHA-256)
 * @param agentDataBlocks 4 KiB data blocks of the agent disk; the hash tree follows them
 * @param cmdline        the measured kernel command line
 * @param agentCode      {@link GuestBuilder#agentCodeDigest()} of the Coffer that built it ("" when unknown: an older build)
 */
public record GuestImage(Path dir, String kernelVersion, String agentRootHash, long agentDataBlocks, String cmdline,
                         String agentCode) {
    public static final String MANIFEST = "guest.json";
    public static final String KERNEL_FILE = "vmlinux";
    public static final String INITRD_FILE = "initrd.cpio";
    public static final String AGENT_DISK_FILE = "agent.img";
    /**
     * The kernel as Debian ships it (a bzImage), kept beside the extracted vmlinux: an SEV-SNP
     * launch boots through OVMF, which loads a bzImage (EFI stub) and checks it against the
     * kernel hash QEMU put in the measured SEV hashes table; the PVH microVM boots the vmlinux.
     * Optional in a guest's directory: guests built before SNP support lack it.
     */
    public static final String BZIMAGE_FILE = "vmlinuz";
    /** The launch artifact name under which the agent disk's verity root hash is measured. */
    public static final String AGENT_DISK_ROOT_ARTIFACT = "agent-disk-verity-root";
    /** The virtio-blk serial the guest finds the agent disk by. */
    public static final String AGENT_DISK_SERIAL = "coffer-agent";
    /** The virtio-serial port name the agent listens on. */
    public static final String AGENT_PORT_NAME = "coffer.agent";

    private static final Pattern ROOT_HASH = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    public GuestImage {
        agentCode = agentCode == null ? "" : agentCode;
        if (!ROOT_HASH.matcher(agentRootHash).matches()) {
            throw new GuestBuildException("expected a 64-hex-digit agent disk root hash, found \"" + agentRootHash + "\"");
        }
    }

    public Path kernel() {
        return dir.resolve(KERNEL_FILE);
    }

    /** The compressed kernel OVMF boots in an SEV-SNP launch (see {@link #BZIMAGE_FILE}). */
    public Path bzImage() {
        return dir.resolve(BZIMAGE_FILE);
    }

    public Path initrd() {
        return dir.resolve(INITRD_FILE);
    }

    public Path agentDisk() {
        return dir.resolve(AGENT_DISK_FILE);
    }

    /**
     * Refuses a guest whose agent is not this Coffer's: one built by an older or newer Coffer
     * would run agent code that may not speak this host's protocol or enforce as this one does.
     */
    public void requireCurrentAgent() {
        if (!agentCode.equals(GuestBuilder.agentCodeDigest())) {
            throw new GuestBuildException("expected the guest in " + dir + " to carry this Coffer's agent, found one built "
                    + (agentCode.isEmpty() ? "by an older Coffer" : "from other agent code (another Coffer build)")
                    + "; rebuild it with `coffer guest build`");
        }
    }

    /** The command line of a bare boot of the same kernel and initramfs: init reports and powers off. */
    public String bareCmdline() {
        return cmdline + " coffer.mode=bare";
    }

    /** The launch measurement: SHA-384 over kernel, initrd, command line and the agent disk's root hash. */
    public LaunchMeasurement measurement() throws IOException {
        return new LaunchMeasurement()
                .addFile(LaunchMeasurement.KERNEL, kernel())
                .addFile(LaunchMeasurement.INITRD, initrd())
                .addText(LaunchMeasurement.CMDLINE, cmdline)
                .add(AGENT_DISK_ROOT_ARTIFACT, HexFormat.of().parseHex(agentRootHash));
    }

    void write() throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", 1);
        n.put("kernelVersion", kernelVersion);
        n.put("kernel", KERNEL_FILE);
        n.put("initrd", INITRD_FILE);
        n.put("agentDisk", AGENT_DISK_FILE);
        n.put("agentRootHash", agentRootHash);
        n.put("agentDataBlocks", agentDataBlocks);
        n.put("cmdline", cmdline);
        n.put("agentCode", agentCode);
        Path tmp = dir.resolve(MANIFEST + ".tmp");
        Files.write(tmp, JSON.writeValueAsBytes(n));
        Files.move(tmp, dir.resolve(MANIFEST), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Reads the guest built into {@code dir}; fails with what to do when there is none or it is incomplete. */
    public static GuestImage load(Path dir) {
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            throw new GuestBuildException("expected a built guest in " + dir + ", found no " + MANIFEST + "; run `coffer guest build`");
        }
        try {
            JsonNode n = JSON.readTree(manifest.toFile());
            if (n.path("format").asInt() != 1) {
                throw new GuestBuildException("expected guest manifest format 1 in " + manifest + ", found "
                        + n.path("format") + "; run `coffer guest build` again");
            }
            GuestImage g = new GuestImage(dir, n.path("kernelVersion").asText(), n.path("agentRootHash").asText(),
                    n.path("agentDataBlocks").asLong(), n.path("cmdline").asText(), n.path("agentCode").asText(""));
            for (Path p : new Path[] {g.kernel(), g.initrd(), g.agentDisk()}) {
                if (!Files.isRegularFile(p)) {
                    throw new GuestBuildException("expected " + p + " of the built guest, found it missing; run `coffer guest build` again");
                }
            }
            if (g.agentDataBlocks() <= 0 || Files.size(g.agentDisk()) <= g.agentDataBlocks() * 4096) {
                throw new GuestBuildException("expected the agent disk " + g.agentDisk() + " to hold " + g.agentDataBlocks()
                        + " data blocks plus its hash tree, found " + Files.size(g.agentDisk()) + " bytes; run `coffer guest build` again");
            }
            return g;
        } catch (IOException e) {
            throw new GuestBuildException("cannot read the guest manifest " + manifest + " (" + e.getMessage()
                    + "); run `coffer guest build` again", e);
        }
    }
}
