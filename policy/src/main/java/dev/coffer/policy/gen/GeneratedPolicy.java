package dev.coffer.policy.gen;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A generated policy: its exact text and the SHA-256 of that text's UTF-8 bytes, which the
 * host puts in HOST_DATA at launch and the guest checks before loading the policy.
 */
public record GeneratedPolicy(String text, String sha256) {
    public static GeneratedPolicy of(String text) {
        return new GeneratedPolicy(text, sha256Hex(text));
    }

    public byte[] bytes() {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** SHA-256 (lowercase hex) of the UTF-8 bytes of a policy text: the HOST_DATA value. */
    public static String sha256Hex(String policyText) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(policyText.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
