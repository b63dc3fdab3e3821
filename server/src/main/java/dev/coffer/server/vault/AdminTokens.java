package dev.coffer.server.vault;

import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.store.VaultStore;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Admin API tokens. Only SHA-256 of each token is stored: tokens are 256-bit random values,
 * so a plain hash is as good as a password hash and lets a lookup replace a comparison.
 */
public final class AdminTokens {
    public static final String PREFIX = "coffer_admin_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final VaultStore store;
    private final Clock clock;
    private final Set<String> hashes = ConcurrentHashMap.newKeySet();
    private volatile long lastReload;

    public AdminTokens(VaultStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
        hashes.addAll(store.apiTokenHashes());
    }

    public boolean isEmpty() {
        return hashes.isEmpty();
    }

    /** Makes a token, stores its hash and returns the token itself (shown once, never stored). */
    public String create(String label) {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        String token = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        String hash = hash(token);
        store.insertApiToken(hash.substring(0, 16), label, hash, clock.instant());
        hashes.add(hash);
        return token;
    }

    /** Throws {@code unauthenticated} unless the Authorization header carries a known token. */
    public void require(String authorizationHeader) {
        if (authorizationHeader == null || !authorizationHeader.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(ErrorCode.UNAUTHENTICATED, "admin API: expected 'Authorization: Bearer <admin token>' "
                    + "(the server writes its first token to $COFFER_HOME/server/admin-token)");
        }
        String hash = hash(authorizationHeader.substring(7).strip());
        if (hashes.contains(hash)) return;
        // Another server on the same database may have issued it; reload at most once a second.
        long now = System.nanoTime();
        if (now - lastReload > 1_000_000_000L) {
            lastReload = now;
            hashes.addAll(store.apiTokenHashes());
            if (hashes.contains(hash)) return;
        }
        throw new ApiException(ErrorCode.UNAUTHENTICATED, "admin API: the bearer token is not a known admin token");
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
