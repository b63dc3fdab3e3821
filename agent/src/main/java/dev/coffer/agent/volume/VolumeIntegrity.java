package dev.coffer.agent.volume;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How a volume's sectors are authenticated, the one choice between the volume formats Coffer
 * makes (both {@code aes-xts-plain64}, 512-bit XTS key, 4 KiB sectors). The spec and the policy
 * name it by {@link #id()}; the LUKS2 header names it by {@link #luksType()}.
 */
public enum VolumeIntegrity {
    /**
     * dm-integrity below dm-crypt, each 4 KiB sector tagged with HMAC-SHA256 over its ciphertext
     * and sector number (a 256-bit key of its own): a flipped or moved sector fails to read with
     * EIO. It does not detect a sector (or the whole image) rolled back to an older version of
     * itself: the tag travels with the data, and there is no trusted counter.
     */
    HMAC_SHA256("hmac-sha256", "hmac(sha256)", 32, 32),
    /** Plain XTS: confidentiality only; the host can flip or replay sectors unnoticed. Only where the policy says so. */
    NONE("none", null, 0, 0);

    private final String id;
    private final String luksType;
    private final int keyBytes;
    private final int tagBytes;

    VolumeIntegrity(String id, String luksType, int keyBytes, int tagBytes) {
        this.id = id;
        this.luksType = luksType;
        this.keyBytes = keyBytes;
        this.tagBytes = tagBytes;
    }

    /** The tag stored per sector by dm-integrity (the full HMAC-SHA256). */
    int tagBytes() {
        return tagBytes;
    }

    /** The name in the group spec, the policy and requests: {@code hmac-sha256} or {@code none}. */
    public String id() {
        return id;
    }

    /** The segment's {@code integrity.type} in the LUKS2 metadata, null for none. */
    String luksType() {
        return luksType;
    }

    /** The bytes the integrity key adds to the volume key (cryptsetup appends it to the XTS key). */
    int keyBytes() {
        return keyBytes;
    }

    /** The volume key as cryptsetup stores it: the 512-bit XTS key and the integrity key. */
    int volumeKeyBytes() {
        return EncryptedVolume.VOLUME_KEY_BITS / 8 + keyBytes;
    }

    /** The value for {@code id}, or a precise error listing the valid ones. */
    public static VolumeIntegrity of(String id) {
        for (VolumeIntegrity v : values()) {
            if (v.id.equals(id)) return v;
        }
        throw new VolumeException(VolumeException.Reason.INVALID, "expected a volume integrity of " + ids() + ", found \"" + id + "\"");
    }

    /** The valid ids, for messages: "hmac-sha256" or "none". */
    public static String ids() {
        return Arrays.stream(values()).map(v -> "\"" + v.id + "\"").collect(Collectors.joining(" or "));
    }
}
