package dev.coffer.server.token;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.Json;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the public key that signed a token of a given issuer: our own ring for our own issuer
 * name, otherwise the issuer's JWKS fetched over HTTP(S) (its OpenID configuration's
 * {@code jwks_uri}, else {@code {issuer}/certs}, as MAA serves it) and cached. A kid we have
 * not seen triggers a refetch, at most every {@link #REFETCH_INTERVAL}, so a rotated issuer
 * works at once and a flood of bogus kids cannot make us hammer it.
 */
public final class IssuerKeys {
    static final Duration CACHE_TTL = Duration.ofMinutes(5);
    static final Duration REFETCH_INTERVAL = Duration.ofSeconds(10);
    private static final int MAX_JWKS_BYTES = 256 * 1024;

    private record Cached(JWKSet keys, Instant fetched) {}

    private final String ownIssuer;
    private final SigningKeyRing ownKeys;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

    public IssuerKeys(String ownIssuer, SigningKeyRing ownKeys, Clock clock) {
        this.ownIssuer = normalize(ownIssuer);
        this.ownKeys = ownKeys;
        this.clock = clock;
    }

    /** Issuer names compare without a trailing slash and with a lower-case scheme and host. */
    public static String normalize(String issuer) {
        String s = issuer.strip();
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        int schemeEnd = s.indexOf("://");
        if (schemeEnd > 0) {
            int hostEnd = s.indexOf('/', schemeEnd + 3);
            if (hostEnd < 0) hostEnd = s.length();
            s = s.substring(0, hostEnd).toLowerCase(Locale.ROOT) + s.substring(hostEnd);
        }
        return s;
    }

    public Optional<JWK> find(String issuer, String kid) {
        String iss = normalize(issuer);
        if (iss.equals(ownIssuer)) return ownKeys.publicKey(kid);
        Cached c = cache.get(iss);
        Instant now = clock.instant();
        if (c == null || c.fetched.plus(CACHE_TTL).isBefore(now)
                || (c.keys.getKeyByKeyId(kid) == null && c.fetched.plus(REFETCH_INTERVAL).isBefore(now))) {
            c = new Cached(fetch(iss), now);
            cache.put(iss, c);
        }
        return Optional.ofNullable(c.keys.getKeyByKeyId(kid));
    }

    private JWKSet fetch(String issuer) {
        URI base;
        try {
            base = URI.create(issuer);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "token issuer '" + issuer + "' is not a URL");
        }
        if (!"https".equals(base.getScheme()) && !"http".equals(base.getScheme())) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "token issuer '" + issuer + "' is not an http(s) URL");
        }
        URI jwksUri = URI.create(issuer + "/certs");
        try {
            String config = get(URI.create(issuer + "/.well-known/openid-configuration"));
            JsonNode n = Json.parse(config).path("jwks_uri");
            if (n.isTextual()) jwksUri = URI.create(n.textValue());
        } catch (IOException | RuntimeException e) {
            // No discovery document: MAA-style issuers serve the JWKS at /certs anyway.
        }
        try {
            return JWKSet.parse(get(jwksUri));
        } catch (IOException | ParseException | RuntimeException e) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNREACHABLE, "cannot fetch the signing keys of issuer "
                    + issuer + " from " + jwksUri + " (" + e.getMessage() + "); check that the attestation service is reachable");
        }
    }

    private String get(URI uri) throws IOException {
        try {
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) throw new IOException("HTTP " + r.statusCode());
            if (r.body().length > MAX_JWKS_BYTES) throw new IOException("response larger than " + MAX_JWKS_BYTES + " bytes");
            return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }
}
