package dev.coffer.server.token;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.Json;
import dev.coffer.server.client.ServerTrust;

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
 *
 * <p>Whom it talks to: the issuer's own origin only. Its HTTPS certificate is checked as
 * {@link IssuerTrust} says (a pinned fingerprint or CA for a remote {@code coffer server} with a
 * self-signed certificate, else the JDK's trust store), and a discovery document that names a
 * {@code jwks_uri} on another origin is refused: the keys that decide which tokens the vault
 * believes come from the service the vault was told to trust, not from wherever it points.
 */
public final class IssuerKeys {
    static final Duration CACHE_TTL = Duration.ofMinutes(5);
    static final Duration REFETCH_INTERVAL = Duration.ofSeconds(10);
    private static final int MAX_JWKS_BYTES = 256 * 1024;

    private record Cached(JWKSet keys, Instant fetched) {}

    private final String ownIssuer;
    private final SigningKeyRing ownKeys;
    private final Clock clock;
    private final IssuerTrust trust;
    /** One client per trust: the JDK's store, and one per pinned origin (redirects never followed). */
    private final ConcurrentHashMap<String, HttpClient> clients = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

    public IssuerKeys(String ownIssuer, SigningKeyRing ownKeys, Clock clock) {
        this(ownIssuer, ownKeys, clock, IssuerTrust.NONE);
    }

    /** {@code trust}: how remote attestation services' certificates are checked (pins per origin). */
    public IssuerKeys(String ownIssuer, SigningKeyRing ownKeys, Clock clock, IssuerTrust trust) {
        this.ownIssuer = normalize(ownIssuer);
        this.ownKeys = ownKeys;
        this.clock = clock;
        this.trust = trust;
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
        String origin;
        try {
            origin = IssuerTrust.origin(issuer);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "token issuer '" + issuer + "': " + e.getMessage());
        }
        ServerTrust pin = trust.pinFor(origin);
        HttpClient http = clients.computeIfAbsent(pin == null ? "" : origin, k -> client(pin));
        URI jwksUri = URI.create(issuer + "/certs");
        String config = null;
        try {
            config = get(http, URI.create(issuer + "/.well-known/openid-configuration"));
        } catch (IOException e) {
            // No discovery document: MAA-style issuers serve the JWKS at /certs anyway (a certificate
            // the pin refuses fails there again, and is reported then).
        }
        if (config != null) {
            JsonNode n;
            try {
                n = Json.parse(config).path("jwks_uri");
            } catch (IOException | RuntimeException e) {
                n = null; // not JSON: treated as no discovery document, as before
            }
            if (n != null && n.isTextual()) {
                URI named;
                String namedOrigin;
                try {
                    named = URI.create(n.textValue());
                    namedOrigin = IssuerTrust.origin(n.textValue());
                } catch (IllegalArgumentException e) {
                    throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "the discovery document of issuer " + issuer
                            + " names jwks_uri '" + n.textValue() + "', which is not an http(s) URL; fix the attestation service");
                }
                if (!namedOrigin.equals(origin)) {
                    throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "expected the jwks_uri of issuer " + issuer
                            + " on its own origin " + origin + ", found " + named + " (origin " + namedOrigin + "); the vault"
                            + " fetches token-signing keys only from the issuer's origin, which its trust"
                            + (pin == null ? " store" : " pin") + " covers");
                }
                jwksUri = named;
            }
        }
        try {
            return JWKSet.parse(get(http, jwksUri));
        } catch (javax.net.ssl.SSLException e) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "cannot fetch the signing keys of issuer " + issuer
                    + " from " + jwksUri + ": its HTTPS certificate was refused (" + rootMessage(e) + "); "
                    + (pin == null ? "no certificate is pinned for " + origin + ", so the JDK's trust store decided: pin the one its"
                            + " coffer server prints with --trust-issuer-cert " + origin + "=SHA256, or give its CA with"
                            + " --trust-issuer-ca " + origin + "=PEM"
                            : "check the pin for " + origin + " (--trust-issuer-cert / --trust-issuer-ca), or that this is the"
                            + " attestation service you mean"));
        } catch (IOException | ParseException | RuntimeException e) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNREACHABLE, "cannot fetch the signing keys of issuer "
                    + issuer + " from " + jwksUri + " (" + e.getMessage() + "); check that the attestation service is reachable");
        }
    }

    private static HttpClient client(ServerTrust pin) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER);
        if (pin != null) b.sslContext(pin.sslContext());
        return b.build();
    }

    /** The innermost message: the certificate check's own words, not the handshake's wrapper. */
    private static String rootMessage(Throwable t) {
        String m = t.getMessage();
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            if (c.getMessage() != null) m = c.getMessage();
        }
        return m;
    }

    private static String get(HttpClient http, URI uri) throws IOException {
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
