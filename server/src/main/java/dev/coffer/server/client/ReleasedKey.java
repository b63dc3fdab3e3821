package dev.coffer.server.client;

import dev.coffer.channel.ChannelFormatException;
import dev.coffer.channel.SignedRelease;

import java.security.interfaces.RSAPrivateKey;

/**
 * Opens a key release response on the receiving side with the channel's own format code
 * ({@link SignedRelease}): reads the JWS payload (Azure's shape), unwraps
 * {@code key_hsm.ciphertext} with the runtime private key. The JWS signature is the vault's;
 * a receiver whose channel the host can touch checks it against the pinned key
 * ({@link SignedRelease#verify}), as the agent does.
 *
 * @param kty      {@code oct-HSM}, {@code RSA-HSM} or {@code EC-HSM}
 * @param kid      the vault's key id (URL ending in name/version)
 * @param material raw key bytes for oct, PKCS#8 DER for RSA and EC
 */
public record ReleasedKey(String kty, String kid, byte[] material) {
    public static ReleasedKey open(String releaseJws, RSAPrivateKey runtimeKey) {
        try {
            var payload = SignedRelease.unverifiedPayload(releaseJws);
            String kid = payload.path("response").path("key").path("key").path("kid").asText("");
            SignedRelease.Released r = SignedRelease.open(payload, kid.isEmpty() ? "-" : kid);
            return new ReleasedKey(r.kty(), r.kid(), r.unwrap(runtimeKey));
        } catch (ChannelFormatException e) {
            throw new IllegalArgumentException("the key release response cannot be opened with this runtime key: " + e.getMessage(), e);
        }
    }
}
