package dev.coffer.server.vault;

import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.store.VaultStore;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
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

    /**
     * Throws {@code unauthenticated} unless the Authorization header carries a known token. The
     * store is asked every time (admin calls are rare) so a token revoked on any server sharing
     * the database is refused at once.
     */
    public void require(String authorizationHeader) {
        if (authorizationHeader == null || !authorizationHeader.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(ErrorCode.UNAUTHENTICATED, "admin API: expected 'Authorization: Bearer <admin token>' "
                    + "(the server writes its first token to $COFFER_HOME/server/admin-token)");
        }
        String hash = hash(authorizationHeader.substring(7).strip());
        if (store.apiTokenExists(hash)) {
            hashes.add(hash);
            return;
        }
        hashes.remove(hash);
        throw new ApiException(ErrorCode.UNAUTHENTICATED, "admin API: the bearer token is not a known admin token (never issued, or revoked)");
    }

    /** Tokens as {@code {id, label, created}}; the tokens themselves are never stored. */
    public List<Map<String, String>> list() {
        List<Map<String, String>> out = new ArrayList<>();
        for (String[] t : store.apiTokens()) out.add(Map.of("id", t[0], "label", t[1], "created", t[2]));
        return out;
    }

    /**
     * Revokes a token by id (the first 16 hex digits of its SHA-256, as {@link #list} shows).
     * The last token cannot be revoked: that would leave nobody able to administer the server.
     */
    public void revoke(String id) {
        if (id == null || !id.matches("[0-9a-f]{16}")) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "revoke admin token: the id must be 16 lower-case hex digits "
                    + "(see GET /admin/tokens), found '" + (id == null ? "" : id.replaceAll("\\p{Cntrl}", "?")) + "'");
        }
        boolean removed;
        try {
            removed = store.deleteApiToken(id);
        } catch (IllegalStateException last) {
            throw new ApiException(ErrorCode.LAST_ADMIN_TOKEN, "admin token " + id + " is the last one; create another "
                    + "(POST /admin/tokens) before revoking it");
        }
        if (!removed) throw new ApiException(ErrorCode.NOT_FOUND, "no admin token has id " + id + " (see GET /admin/tokens)");
        hashes.removeIf(h -> h.startsWith(id));
    }

    /** The id a token is listed and revoked by: the first 16 hex digits of its SHA-256. */
    public static String idOf(String token) {
        return hash(token).substring(0, 16);
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
