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

    /**
     * The agent's startup check: the policy it was handed must be the one the launch was bound
     * to. Throws with both values when they differ, so the agent can refuse to run.
     */
    public static void requireMatches(byte[] reportHostData, byte[] policyBytes) {
        byte[] expected = ofPolicy(policyBytes);
        if (!MessageDigest.isEqual(expected, reportHostData)) {
            java.util.HexFormat hex = java.util.HexFormat.of();
            throw new IllegalStateException("the policy does not match this sandbox's launch: SHA-256(policy) is "
                    + hex.formatHex(expected) + " but HOST_DATA is " + hex.formatHex(reportHostData)
                    + "; the host supplied a different policy than the one the sandbox was launched with");
        }
    }

    public static byte[] ofPolicy(byte[] policyBytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(policyBytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
