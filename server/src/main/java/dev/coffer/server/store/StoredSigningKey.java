package dev.coffer.server.store;

import java.time.Instant;

/**
 * A token-signing key as the database holds it for every replica. {@code privateJwk} is the
 * opened private JWK (JSON): a secret, left out of {@link #toString()}. It signs from
 * {@code activates} until {@code retired} (null: until a rotation retires it).
 */
public record StoredSigningKey(String kid, String alg, Instant created, Instant activates, Instant retired, String privateJwk) {
    @Override
    public String toString() {
        return "StoredSigningKey[kid=" + kid + ", alg=" + alg + ", created=" + created + ", activates=" + activates
                + ", retired=" + retired + "]";
    }
}
