package dev.coffer.server.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSObject;
import dev.coffer.server.http.Json;
import dev.coffer.server.wrap.KeyWrapAlgorithm;
import dev.coffer.server.wrap.RsaAesKeyWrap;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.interfaces.RSAPrivateKey;
import java.text.ParseException;
import java.util.Base64;

/**
 * Opens a key release response on the receiving side: reads the JWS payload (Azure's shape),
 * unwraps {@code key_hsm.ciphertext} with the runtime private key. The JWS signature is the
 * vault's; check it against the vault's JWKS separately when the channel is not trusted.
 *
 * @param kty      {@code oct-HSM}, {@code RSA-HSM} or {@code EC-HSM}
 * @param kid      the vault's key id (URL ending in name/version)
 * @param material raw key bytes for oct, PKCS#8 DER for RSA and EC
 */
public record ReleasedKey(String kty, String kid, byte[] material) {
    public static ReleasedKey open(String releaseJws, RSAPrivateKey runtimeKey) {
        try {
            JsonNode payload = Json.parse(JWSObject.parse(releaseJws).getPayload().toString());
            JsonNode key = payload.path("response").path("key").path("key");
            JsonNode hsm = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(key.path("key_hsm").asText()));
            KeyWrapAlgorithm alg = KeyWrapAlgorithm.fromName(hsm.path("header").path("enc").asText());
            if (alg == null) throw new IllegalArgumentException("unknown wrapping " + hsm.path("header").path("enc"));
            byte[] material = RsaAesKeyWrap.unwrap(runtimeKey, Base64.getUrlDecoder().decode(hsm.path("ciphertext").asText()), alg);
            return new ReleasedKey(key.path("kty").asText(), key.path("kid").asText(), material);
        } catch (ParseException | IOException | GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("the key release response cannot be opened with this runtime key: " + e.getMessage(), e);
        }
    }
}
