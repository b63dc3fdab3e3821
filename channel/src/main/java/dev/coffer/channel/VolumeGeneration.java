package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A volume key's generation as the vault signs it: the monotonic counter that tells a volume
 * image from a replayed older copy of it. Both ends read and write it here.
 *
 * <p>Two places carry it, always as the member {@value #CLAIM} of a JWS payload signed with the
 * vault's release-signing key:
 * <ul>
 *   <li>every signed release: {@code {"key": NAME, "generation": N}}, the vault's current value.
 *       It is as fresh as the release itself: the released key is wrapped to the runtime key of
 *       this very request, so an older release replayed by the host opens nothing.</li>
 *   <li>the answer to an advance ({@code POST /keys/NAME/generation}): {@code {"key", "generation":
 *       NEXT, "previous": EXPECTED, "target_sha256": hex SHA-256 of the attestation token the
 *       request carried}}. The digest ties the answer to that request: the agent sends a fresh
 *       token each time, so an answer recorded earlier never matches.</li>
 * </ul>
 */
public record VolumeGeneration(String key, long generation, Long previous, String targetSha256) {
    /** The payload member; an {@code x-} name because Azure's release payload has no such field. */
    public static final String CLAIM = "x-coffer-generation";

    public VolumeGeneration {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("a generation belongs to a named key");
        if (generation < 0) throw new IllegalArgumentException("a generation is never negative, found " + generation);
    }

    /** The current generation, as a release carries it. */
    public static VolumeGeneration current(String key, long generation) {
        return new VolumeGeneration(key, generation, null, null);
    }

    /** The answer to a successful compare-and-set from {@code previous} to {@code generation}. */
    public static VolumeGeneration advanced(String key, long previous, long generation, String token) {
        return new VolumeGeneration(key, generation, previous, targetDigest(token));
    }

    /** The {@value #CLAIM} member's value. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("key", key);
        m.put("generation", generation);
        if (previous != null) m.put("previous", previous);
        if (targetSha256 != null) m.put("target_sha256", targetSha256);
        return m;
    }

    /**
     * The generation in a verified payload, checked to be of key {@code expectedKey} (a name, or
     * name/version whose name counts: the generation is per volume key, across its versions).
     */
    public static VolumeGeneration read(JsonNode payload, String expectedKey, String what) {
        JsonNode g = payload == null ? null : payload.get(CLAIM);
        if (g == null || !g.isObject()) {
            throw new ChannelFormatException("expected " + what + " to carry the volume generation (" + CLAIM
                    + "), found none; the vault predates volume freshness: upgrade coffer server");
        }
        String name = expectedKey.contains("/") ? expectedKey.substring(0, expectedKey.indexOf('/')) : expectedKey;
        String key = g.path("key").asText("");
        if (!key.equals(name)) {
            throw new ChannelFormatException("expected the generation of key '" + SignedRelease.safe(name) + "' in " + what
                    + ", found one of '" + SignedRelease.safe(key) + "'");
        }
        JsonNode n = g.get("generation");
        if (n == null || !n.canConvertToLong() || !n.isIntegralNumber() || n.longValue() < 0) {
            throw new ChannelFormatException("expected a non-negative integer generation in " + what + ", found "
                    + (n == null ? "none" : SignedRelease.safe(n.toString())));
        }
        JsonNode p = g.get("previous");
        Long previous = p == null || p.isNull() ? null : p.isIntegralNumber() ? p.longValue() : -1L;
        if (previous != null && previous < 0) {
            throw new ChannelFormatException("expected a non-negative integer previous generation in " + what + ", found "
                    + SignedRelease.safe(p.toString()));
        }
        JsonNode t = g.get("target_sha256");
        return new VolumeGeneration(key, n.longValue(), previous, t == null || t.isNull() ? null : t.asText());
    }

    /** Lowercase hex SHA-256 of the token's text: what an advance's answer names its request by. */
    public static String targetDigest(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
