package dev.coffer.policy.model;

import java.util.Objects;

/**
 * An encrypted volume the policy pins: which image, which vault key, which attestation service
 * and vault may be asked for it ("" = whichever the runtime is configured with), and whether it
 * is opened read-only. A host that asks for anything else is refused.
 */
public record EncryptedVolumeInput(String name, String source, String key, String authority, String vault, boolean readOnly) {
    public EncryptedVolumeInput {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(key, "key");
        authority = authority == null ? "" : authority;
        vault = vault == null ? "" : vault;
    }
}
