package dev.coffer.server.store;

import java.time.Instant;

/**
 * One version of a key as stored. The material is sealed; only {@link VaultStore#material}
 * opens it. {@code spec} is e.g. {@code oct-256}, {@code RSA-2048}, {@code EC-P-256}.
 */
public record StoredKey(String name, String version, int seq, String spec, Instant created, boolean exportable,
                        String releasePolicy, boolean policyImmutable, String publicJwk, String kekId,
                        byte[] sealedMaterial) {
    @Override
    public String toString() {
        return "StoredKey[" + name + "/" + version + " " + spec + "]";
    }
}
