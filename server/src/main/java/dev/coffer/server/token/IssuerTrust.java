package dev.coffer.server.token;

import dev.coffer.server.client.ServerTrust;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How the vault checks the HTTPS certificate of a remote attestation service whose tokens it
 * accepts, per origin ({@code https://host:port}): pinned by the SHA-256 of the certificate
 * {@code coffer server} prints at start, or by CA certificates; an origin with no entry is checked
 * against the JDK's trust store (a public service such as MAA). The same {@link ServerTrust} the
 * CLI uses to reach {@code coffer server}.
 *
 * <p>A pinned origin is all the vault will talk to for that issuer: its discovery document and
 * JWKS are fetched from it only, so a discovery document cannot send the vault to a {@code jwks_uri}
 * the pin does not cover.
 */
public record IssuerTrust(Map<String, ServerTrust> byOrigin) {
    public static final IssuerTrust NONE = new IssuerTrust(Map.of());

    public IssuerTrust {
        Map<String, ServerTrust> copy = new LinkedHashMap<>();
        for (Map.Entry<String, ServerTrust> e : byOrigin.entrySet()) {
            String origin = httpsOrigin(e.getKey());
            if (e.getValue() instanceof ServerTrust.SystemCas) {
                throw new IllegalArgumentException("expected a certificate fingerprint or CA certificates for " + origin
                        + ", found the system trust store (which needs no entry)");
            }
            if (copy.put(origin, e.getValue()) != null) {
                throw new IllegalArgumentException("expected one pin per attestation service, found " + origin + " twice");
            }
        }
        byOrigin = Map.copyOf(copy);
    }

    /** This trust plus {@code trust} for {@code issuer}'s origin. */
    public IssuerTrust with(String issuer, ServerTrust trust) {
        Map<String, ServerTrust> m = new LinkedHashMap<>(byOrigin);
        if (m.containsKey(origin(issuer))) {
            throw new IllegalArgumentException("expected one pin per attestation service, found " + origin(issuer) + " twice");
        }
        m.put(origin(issuer), trust);
        return new IssuerTrust(m);
    }

    /** The pin for {@code origin} ({@link #origin}), or null when the JDK's trust store decides. */
    ServerTrust pinFor(String origin) {
        return byOrigin.get(origin);
    }

    /**
     * {@code scheme://host:port} of a URL, lower-case, the port always explicit (443 and 80 by
     * default), so two spellings of one service compare equal.
     */
    public static String origin(String url) {
        URI u;
        try {
            u = URI.create(url.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("expected an attestation service URL (https://host:port), found '" + url + "'");
        }
        String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
        if (scheme == null || !(scheme.equals("https") || scheme.equals("http")) || u.getHost() == null || u.getRawUserInfo() != null) {
            throw new IllegalArgumentException("expected an attestation service URL (https://host:port), found '" + url + "'");
        }
        int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") ? 443 : 80;
        return scheme + "://" + u.getHost().toLowerCase(Locale.ROOT) + ":" + port;
    }

    /**
     * Parses {@code URL=SHA256} (a certificate fingerprint, colons allowed, as {@code coffer server}
     * prints it), the form {@code coffer server --trust-issuer-cert} takes.
     */
    public static Map.Entry<String, ServerTrust> parseFingerprint(String spec) {
        int eq = spec.lastIndexOf('=');
        if (eq <= 0 || eq == spec.length() - 1) {
            throw new IllegalArgumentException("expected URL=SHA256 (the attestation service and the fingerprint of its certificate,"
                    + " as its coffer server printed it), found '" + spec + "'");
        }
        return Map.entry(httpsOrigin(spec.substring(0, eq)), new ServerTrust.PinnedCertificate(spec.substring(eq + 1)));
    }

    private static String httpsOrigin(String url) {
        String origin = origin(url);
        if (!origin.startsWith("https://")) {
            throw new IllegalArgumentException("expected an https:// attestation service to pin, found " + url
                    + "; a certificate pin means nothing over plain HTTP");
        }
        return origin;
    }
}
