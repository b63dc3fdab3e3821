package dev.coffer.agent.volume;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.agent.skr.SecureKeyRelease;
import dev.coffer.agent.skr.SkrException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The group's open encrypted volumes. Opening one is the whole chain inside the sandbox: check
 * that dm-crypt is usable here (before anything leaves the sandbox), release the vault key
 * through the SKR flow with this sandbox's TEE evidence (HOST_DATA = the policy's hash, so a
 * group with another policy is refused), open the LUKS2 image with it, mount the ext4 under
 * {@code root/NAME} and check that the image is the newest one the vault knows of, advancing its
 * generation at open and at clean close ({@link VolumeFreshness}, which says exactly what a crash
 * leaves undetectable). The key lives in this JVM only for the open and is then zeroed; it never
 * reaches a log, a message or the host.
 */
public final class EncryptedVolumes {
    private final Path root;
    private final Map<String, Session> open = new LinkedHashMap<>();
    private final dev.coffer.agent.skr.KeyChannelTrust keyChannel;

    /**
     * {@code root}: where volumes are mounted, one directory per name ({@code sandbox:///encrypted/NAME});
     * {@code keyChannel}: the pins their keys are released under.
     */
    public EncryptedVolumes(Path root, dev.coffer.agent.skr.KeyChannelTrust keyChannel) {
        this.root = root;
        this.keyChannel = keyChannel;
    }

    /** Why the open failed, in one line; {@code conflict} when the volume is already open. */
    public static final class OpenFailure extends RuntimeException {
        private final boolean conflict;

        OpenFailure(String message, boolean conflict) {
            super(message);
            this.conflict = conflict;
        }

        public boolean conflict() {
            return conflict;
        }
    }

    /**
     * An open volume, what its generation is advanced with at close, and the generation of this
     * session ({@link VolumeFreshness}).
     */
    private record Session(EncryptedVolume.Opened volume, Request.MountEncryptedVolume request, EvidenceSource tee, long generation) {}

    /** Where volume {@code name} is mounted, or null when it is not open. */
    public synchronized Path mountPoint(String name) {
        Session s = open.get(name);
        return s == null ? null : s.volume().mountPoint();
    }

    public synchronized List<String> names() {
        return List.copyOf(open.keySet());
    }

    /** Opens volume {@code r.name()}; on failure nothing is left open or mounted. */
    public synchronized void open(Request.MountEncryptedVolume r, EvidenceSource tee) {
        String name = r.name();
        if (open.containsKey(name)) {
            throw new OpenFailure("expected encrypted volume " + name + " to be closed, found it open at " + open.get(name).volume().mountPoint()
                    + "; each volume is opened once per group", true);
        }
        if (r.device() == null || r.device().isBlank()) {
            throw new OpenFailure("expected the device of encrypted volume " + name + " (its image file or block device), found none", false);
        }
        Path device = Path.of(r.device());
        boolean blockDevice = EncryptedVolume.isBlockDevice(device);
        if (!blockDevice && !Files.isRegularFile(device)) {
            throw new OpenFailure("expected encrypted volume " + name + " at " + device + " (an image file or a block device), found "
                    + (Files.exists(device) ? "something else" : "nothing") + "; check the volume's source", false);
        }
        // a block device only as the disk the sandbox attached for this volume, never another one the host names
        if (blockDevice && !r.device().equals(diskPath(name))) {
            throw new OpenFailure("expected encrypted volume " + name + " on the disk attached for it (" + diskPath(name)
                    + "), found a request for " + r.device() + "; the host may not choose another disk", false);
        }
        VolumeIntegrity integrity;
        try {
            integrity = VolumeIntegrity.of(r.integrity());
        } catch (VolumeException e) {
            throw new OpenFailure("encrypted volume " + name + ": " + e.getMessage(), false);
        }
        if (r.headerDigest() == null || !r.headerDigest().matches("[0-9a-f]{64}")) {
            throw new OpenFailure("expected the pinned LUKS2 header digest of encrypted volume " + name + " (64 lowercase hex"
                    + " digits), found " + (r.headerDigest() == null ? "none" : "\"" + r.headerDigest() + "\""), false);
        }
        // before the key is asked for: a header that is not exactly the pinned one never gets a key
        try {
            Luks2Header.read(device).requireCofferShape(integrity, r.headerDigest());
        } catch (VolumeException e) {
            throw new OpenFailure("refused encrypted volume " + name + ": " + e.getMessage(), false);
        }
        // before the key is asked for: a sandbox that cannot open the volume must not fetch its key
        String missing;
        try {
            missing = EncryptedVolume.unavailableReason(!blockDevice);
        } catch (VolumeException e) {
            missing = e.getMessage();
        }
        if (missing != null) {
            throw new OpenFailure("cannot open encrypted volume " + name + " in this sandbox: " + missing
                    + "; run the group with --isolation microvm, whose guest kernel has dm-crypt", false);
        }
        if (tee == null) {
            throw new OpenFailure("expected a sandbox with a TEE to release the key of encrypted volume " + name
                    + ", found one launched with --tee none; run the group with --tee sim (or on SEV-SNP)", false);
        }
        SecureKeyRelease.VolumeKeyRelease released = release(r, tee, keyChannel);
        byte[] key = releasedKey(r, released.jwk());
        EncryptedVolume.Opened v;
        try {
            v = EncryptedVolume.open(device, key, mapperName(name), root.resolve(name), r.readOnly(),
                    integrity, r.headerDigest());
        } catch (VolumeException e) {
            throw new OpenFailure("cannot open encrypted volume " + name + ": " + e.getMessage(), false);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
        // before any container sees it: the image must be the newest one the vault knows of, and the session is recorded
        long generation;
        try {
            generation = VolumeFreshness.open(name, v.mountPoint(), released.generation(), r.readOnly(), vault(r, tee, keyChannel));
        } catch (VolumeException e) {
            try {
                v.close();
            } catch (VolumeException closeFailed) {
                throw new OpenFailure("refused encrypted volume " + name + ": " + e.getMessage() + "; closing it again also failed: "
                        + closeFailed.getMessage(), false);
            }
            throw new OpenFailure("refused encrypted volume " + name + ": " + e.getMessage(), false);
        }
        open.put(name, new Session(v, r, tee, generation));
    }

    /** The vault's compare-and-set of the volume key's generation, attested like the release; refusals as VolumeExceptions. */
    static VolumeFreshness.Vault vault(Request.MountEncryptedVolume r, EvidenceSource tee, dev.coffer.agent.skr.KeyChannelTrust keyChannel) {
        return (expected, next) -> {
            try {
                new SecureKeyRelease(tee, keyChannel).advanceGeneration(r.authority(), r.vault(), r.key(), expected, next);
            } catch (SkrException e) {
                throw new VolumeException("generation_conflict".equals(e.code()) ? VolumeException.Reason.STALE : VolumeException.Reason.FAILED,
                        "the vault did not advance the volume generation of key '" + r.key() + "' from " + expected + " to " + next
                                + " [" + e.code() + "]: " + e.getMessage());
            }
        };
    }

    private static SecureKeyRelease.VolumeKeyRelease release(Request.MountEncryptedVolume r, EvidenceSource tee,
                                                             dev.coffer.agent.skr.KeyChannelTrust keyChannel) {
        try {
            return new SecureKeyRelease(tee, keyChannel).releaseVolumeKey(r.authority(), r.vault(), r.key());
        } catch (SkrException e) {
            // the SKR messages say which endpoint refused and why; they never carry key material
            throw new OpenFailure("key release for encrypted volume " + r.name() + " (key '" + r.key() + "') failed ["
                    + e.code() + "]: " + e.getMessage(), false);
        }
    }

    private static byte[] releasedKey(Request.MountEncryptedVolume r, ObjectNode jwk) {
        if (!"oct".equals(jwk.path("kty").asText())) {
            throw new OpenFailure("expected vault key '" + r.key() + "' of encrypted volume " + r.name() + " to be an oct key"
                    + " (coffer volume create makes one), found kty '" + jwk.path("kty").asText() + "'", false);
        }
        try {
            return Base64.getUrlDecoder().decode(jwk.path("k").asText(""));
        } catch (IllegalArgumentException e) {
            throw new OpenFailure("the released key '" + r.key() + "' is not base64url", false);
        } finally {
            jwk.removeAll();
        }
    }

    /**
     * Unmounts and closes every open volume, a read-write one after advancing its generation
     * (the clean close of {@link VolumeFreshness}: a snapshot taken during the session is refused
     * afterwards); every one is tried, failures are reported together. A failed advance still
     * closes the volume, and is reported: the session then counts as one that did not end cleanly.
     */
    public synchronized void closeAll() {
        List<String> failures = new ArrayList<>();
        for (String name : List.copyOf(open.keySet())) {
            Session s = open.remove(name);
            if (!s.request().readOnly()) {
                try {
                    VolumeFreshness.close(s.volume().mountPoint(), s.generation(), vault(s.request(), s.tee(), keyChannel));
                } catch (VolumeException e) {
                    failures.add("encrypted volume " + name + " was not closed cleanly (a snapshot of this session stays openable): "
                            + e.getMessage());
                }
            }
            try {
                s.volume().close();
            } catch (VolumeException e) {
                failures.add(e.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new VolumeException(VolumeException.Reason.FAILED, String.join("; ", failures));
        }
    }

    /**
     * The virtio serial a microVM attaches encrypted volume {@code name}'s image under: "v" and 16
     * hex digits of SHA-256 of the name (virtio-blk keeps 20 bytes). Declared here, used by the
     * runtime to attach the disk and by the agent to accept only that disk.
     */
    public static String diskSerial(String name) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return "v" + HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Where the guest's udev-less /dev/disk/by-id names the disk of volume {@code name}. */
    public static String diskPath(String name) {
        return "/dev/disk/by-id/virtio-" + diskSerial(name);
    }

    /** Short and unique per sandbox directory and volume: device-mapper names are global to the kernel. */
    private String mapperName(String name) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((root + "/" + name).getBytes(StandardCharsets.UTF_8));
            return "coffer-" + HexFormat.of().formatHex(d, 0, 6) + "-" + (name.length() > 40 ? name.substring(0, 40) : name);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
