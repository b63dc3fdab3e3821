package dev.coffer.policy.model;

import java.util.Objects;

/**
 * An encrypted volume the policy pins: which image, which vault key, which attestation service
 * and vault may be asked for it (always named: a vault the host chose would hand out a key it
 * knows), which LUKS2 header (its SHA-256) with which integrity mode, and whether it is opened
 * read-only. A host that asks for anything else is refused.
 */
public record EncryptedVolumeInput(String name, String source, String key, String authority, String vault, boolean readOnly,
                                   String headerDigest, String integrity) {
    public EncryptedVolumeInput {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(key, "key");
        if (authority == null || authority.isEmpty()) {
            throw new IllegalArgumentException("encrypted volume '" + name + "': expected its attestation service (the spec's"
                    + " encrypted.authority), found none; the policy pins it");
        }
        if (vault == null || vault.isEmpty()) {
            throw new IllegalArgumentException("encrypted volume '" + name + "': expected its key vault (the spec's"
                    + " encrypted.vault), found none; the policy pins it");
        }
        if (headerDigest == null || !headerDigest.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("encrypted volume '" + name + "': expected its LUKS2 header digest (the spec's"
                    + " encrypted.headerDigest, 64 lowercase hex digits), found " + (headerDigest == null ? "none" : "\"" + headerDigest + "\""));
        }
        if (!dev.coffer.policy.spec.GroupSpec.Encrypted.INTEGRITY_MODES.contains(integrity)) {
            throw new IllegalArgumentException("encrypted volume '" + name + "': expected integrity one of "
                    + dev.coffer.policy.spec.GroupSpec.Encrypted.INTEGRITY_MODES + ", found " + integrity);
        }
    }
}
