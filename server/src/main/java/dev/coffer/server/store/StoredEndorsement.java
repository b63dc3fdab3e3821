package dev.coffer.server.store;

import java.time.Instant;

/**
 * A guest endorsement registered with the service: the COSE_Sign1 bytes exactly as received
 * (verified again at every attestation, so trust settings apply as they are then) and the
 * facts parsed from it for lookup and listing.
 *
 * @param digest      SHA-256 of {@code cose}, hex: the endorsement's identity
 * @param measurement the endorsed launch measurement, lower-case hex
 */
public record StoredEndorsement(String digest, String measurement, String issuer, String feed, String svn, byte[] cose,
                                Instant created) {
    public StoredEndorsement {
        cose = cose.clone();
    }

    @Override
    public byte[] cose() {
        return cose.clone();
    }
}
