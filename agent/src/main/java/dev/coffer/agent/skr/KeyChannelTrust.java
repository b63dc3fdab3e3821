package dev.coffer.agent.skr;

import java.net.URI;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What the agent trusts on the key channel, which in a microVM runs through the host: per
 * service origin ({@code scheme://host:port}), the vault's release-signing keys (RFC 7638
 * thumbprints) and the TLS certificates (SHA-256 of the leaf's DER) it may present. Releases
 * are verified against the pinned key, never against a key set the same origin serves alone.
 *
 * @param releaseKeys        vault origin to its pinned release-signing key thumbprints
 * @param tlsCertificates    origin to the SHA-256 fingerprints (lowercase hex) its certificate must have;
 *                           origins without one are checked against the JDK's trust store
 * @param loopbackPlainHttp  true only in the process sandbox (which isolates nothing from the host): plain
 *                           HTTP and unpinned release keys are accepted for loopback endpoints. A
 *                           microVM never sets it: every byte leaving the guest passes the host.
 */
public record KeyChannelTrust(Map<String, Set<String>> releaseKeys, Map<String, Set<String>> tlsCertificates,
                              boolean loopbackPlainHttp) {
    /** Nothing pinned, no plain HTTP: every release is refused until pins are configured. */
    public static final KeyChannelTrust STRICT = new KeyChannelTrust(Map.of(), Map.of(), false);
    /** The process sandbox's default: loopback development endpoints only, over plain HTTP or unpinned. */
    public static final KeyChannelTrust PROCESS_SANDBOX_LOOPBACK = new KeyChannelTrust(Map.of(), Map.of(), true);

    private static final Pattern THUMBPRINT = Pattern.compile("[A-Za-z0-9_-]{43}");
    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{64}");

    public KeyChannelTrust {
        releaseKeys = copy(releaseKeys);
        tlsCertificates = copy(tlsCertificates);
    }

    private static Map<String, Set<String>> copy(Map<String, Set<String>> m) {
        TreeMap<String, Set<String>> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, Set.copyOf(new TreeSet<>(v))));
        return Map.copyOf(out);
    }

    /** This trust with {@code thumbprint} pinned as a release-signing key of the vault at {@code endpoint}. */
    public KeyChannelTrust withReleaseKey(String endpoint, String thumbprint) {
        if (!THUMBPRINT.matcher(thumbprint).matches()) {
            throw new IllegalArgumentException("expected a release-signing key pin as an RFC 7638 SHA-256 thumbprint (43 base64url"
                    + " characters, as `coffer server pins` prints it), found '" + thumbprint + "'");
        }
        return new KeyChannelTrust(add(releaseKeys, SecureKeyRelease.endpointOrigin(endpoint), thumbprint), tlsCertificates, loopbackPlainHttp);
    }

    /** This trust with the TLS certificate of SHA-256 {@code fingerprint} (hex, colons allowed) pinned for {@code endpoint}. */
    public KeyChannelTrust withTlsCertificate(String endpoint, String fingerprint) {
        String f = normalizeFingerprint(fingerprint);
        String origin = SecureKeyRelease.endpointOrigin(endpoint);
        if (!origin.startsWith("https://")) {
            throw new IllegalArgumentException("expected an https endpoint for a TLS certificate pin, found " + origin);
        }
        return new KeyChannelTrust(releaseKeys, add(tlsCertificates, origin, f), loopbackPlainHttp);
    }

    /**
     * The trust a policy's pins ({@code key_channel_pins}) state.
     *
     * @param loopbackPlainHttp true only for the process sandbox's agent
     * @throws IllegalArgumentException when a pin is malformed (the policy was not made by policy gen)
     */
    public static KeyChannelTrust fromPolicy(List<dev.coffer.policy.spec.GroupSpec.EndpointPin> pins, boolean loopbackPlainHttp) {
        KeyChannelTrust t = new KeyChannelTrust(Map.of(), Map.of(), loopbackPlainHttp);
        for (var p : pins) {
            if (!p.tlsCertificate().isEmpty()) t = t.withTlsCertificate(p.endpoint(), p.tlsCertificate());
            for (String k : p.signingKeys()) t = t.withReleaseKey(p.endpoint(), k);
        }
        return t;
    }

    public static String normalizeFingerprint(String fingerprint) {
        String f = fingerprint.replace(":", "").toLowerCase(Locale.ROOT);
        if (!FINGERPRINT.matcher(f).matches()) {
            throw new IllegalArgumentException("expected a TLS certificate pin as the SHA-256 of the certificate (64 hex digits,"
                    + " colons allowed, as `coffer server` prints it), found '" + fingerprint + "'");
        }
        return f;
    }

    private static Map<String, Set<String>> add(Map<String, Set<String>> m, String origin, String value) {
        TreeMap<String, Set<String>> out = new TreeMap<>(m);
        TreeSet<String> values = new TreeSet<>(out.getOrDefault(origin, Set.of()));
        values.add(value);
        out.put(origin, values);
        return out;
    }

    Set<String> releaseKeysOf(String origin) {
        return releaseKeys.getOrDefault(origin, Set.of());
    }

    Set<String> tlsCertificatesOf(String origin) {
        return tlsCertificates.getOrDefault(origin, Set.of());
    }

    /** True for a loopback endpoint while this trust allows loopback development endpoints. */
    boolean developmentLoopback(String origin) {
        return loopbackPlainHttp && isLoopback(URI.create(origin).getHost());
    }

    static boolean isLoopback(String host) {
        return dev.coffer.channel.Loopback.isLoopback(host);
    }

    /** Lowercase hex SHA-256 of a certificate's DER. */
    static String fingerprint(byte[] der) {
        return HexFormat.of().formatHex(SecureKeyRelease.sha256(der));
    }

    /** Origins named by any pin, for messages. */
    List<String> pinnedOrigins() {
        TreeSet<String> all = new TreeSet<>(releaseKeys.keySet());
        all.addAll(tlsCertificates.keySet());
        return List.copyOf(all);
    }
}
