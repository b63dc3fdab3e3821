package dev.coffer.agent.tee;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * REPORT_DATA for a report the host asks for ({@code get_report}): a fixed 32-byte tag followed
 * by the caller's nonce (at most 32 bytes, zero-padded).
 *
 * <p>Why not the caller's 64 bytes as they are: the host is untrusted, and a report whose
 * REPORT_DATA the host chose freely would let it bind a key of its own — SKR puts SHA-256 of the
 * runtime key set in the first 32 bytes, and the attestation service then issues a token for
 * that key. With the tag in the first 32 bytes a host-requested report can never carry a key
 * hash (that would need a SHA-256 preimage of the tag), while the nonce still round-trips
 * literally, so a verifier checks freshness by comparing bytes.
 */
public final class HostChallenge {
    /** "coffer-host-challenge/v1", NUL-padded to 32 bytes. */
    public static final byte[] TAG = Arrays.copyOf("coffer-host-challenge/v1".getBytes(StandardCharsets.US_ASCII), 32);
    public static final int MAX_NONCE_BYTES = 32;

    private HostChallenge() {}

    /** The 64-byte REPORT_DATA for {@code nonce}. */
    public static byte[] reportData(byte[] nonce) {
        if (nonce == null || nonce.length > MAX_NONCE_BYTES) {
            throw new IllegalArgumentException("expected a nonce of at most " + MAX_NONCE_BYTES + " bytes, found "
                    + (nonce == null ? "none" : nonce.length + " bytes") + "; use a shorter nonce (e.g. 32 random bytes)");
        }
        byte[] out = new byte[64];
        System.arraycopy(TAG, 0, out, 0, 32);
        System.arraycopy(nonce, 0, out, 32, nonce.length);
        return out;
    }
}
