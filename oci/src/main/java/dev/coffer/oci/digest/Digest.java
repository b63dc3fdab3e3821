package dev.coffer.oci.digest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A content digest as the OCI image spec writes it ({@code sha256:<64 lowercase hex>}). Only
 * SHA-256 is accepted: it is what every registry and image we handle uses, and refusing the
 * rest keeps the blob store's addressing unambiguous.
 */
public record Digest(String algorithm, String hex) {
    public static final String SHA256 = "sha256";

    public Digest {
        if (!SHA256.equals(algorithm)) {
            throw new IllegalArgumentException("expected digest algorithm 'sha256', found '" + algorithm
                    + "'; Coffer only handles sha256 content digests");
        }
        if (hex == null || hex.length() != 64 || !isLowerHex(hex)) {
            throw new IllegalArgumentException("expected 64 lowercase hex digits in a sha256 digest, found '"
                    + (hex == null ? "null" : abbreviate(hex)) + "'; copy the digest exactly (sha256:...)");
        }
    }

    /** Parses {@code sha256:<hex>}. */
    public static Digest parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("expected a digest 'sha256:<64 hex>', found nothing");
        }
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected a digest 'sha256:<64 hex>', found '" + abbreviate(text)
                    + "' (no algorithm prefix); write it as sha256:<hex>");
        }
        return new Digest(text.substring(0, colon), text.substring(colon + 1));
    }

    public static Digest sha256(byte[] bytes) {
        return of(newSha256().digest(bytes));
    }

    public static Digest sha256(String utf8) {
        return sha256(utf8.getBytes(StandardCharsets.UTF_8));
    }

    /** The digest of a finished SHA-256 computation. */
    public static Digest of(byte[] sha256) {
        if (sha256.length != 32) {
            throw new IllegalArgumentException("expected 32 bytes of SHA-256 output, found " + sha256.length);
        }
        return new Digest(SHA256, HexFormat.of().formatHex(sha256));
    }

    /** Finishes {@code md} (which must be SHA-256) and returns its digest. */
    public static Digest of(MessageDigest md) {
        return of(md.digest());
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    /** The first 12 hex digits, as image ids are usually shown. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }

    private static boolean isLowerHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        }
        return true;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
