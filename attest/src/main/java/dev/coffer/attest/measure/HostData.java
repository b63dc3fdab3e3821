package dev.coffer.attest.measure;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** HOST_DATA binds the policy to the launch: SHA-256 of the policy's exact text (UTF-8). */
public final class HostData {
    private HostData() {}

    public static byte[] ofPolicy(String policyText) {
        return ofPolicy(policyText.getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] ofPolicy(byte[] policyBytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(policyBytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
