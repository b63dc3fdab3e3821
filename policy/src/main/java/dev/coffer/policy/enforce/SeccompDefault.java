package dev.coffer.policy.enforce;

import dev.coffer.policy.gen.GeneratedPolicy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The seccomp profile a container gets when its policy says "runtime default" (an empty
 * {@code seccomp_profile_sha256}): the facts of the default profile the common runtimes apply,
 * in Coffer's own form (resource {@code seccomp-default.json}; the agent renders it for the
 * container's capabilities). The agent reports its SHA-256 as create_container's
 * {@code seccompProfileSHA256}, so a policy can pin this exact profile.
 */
public final class SeccompDefault {
    static final String RESOURCE = "seccomp-default.json";
    private static final String TEXT = load();
    private static final String SHA256 = GeneratedPolicy.sha256Hex(TEXT);

    private SeccompDefault() {}

    /** The profile's exact text. */
    public static String text() {
        return TEXT;
    }

    /** SHA-256 of {@link #text()}'s UTF-8 bytes, lowercase hex. */
    public static String sha256() {
        return SHA256;
    }

    private static String load() {
        try (InputStream in = SeccompDefault.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the coffer-policy jar; rebuild the policy module");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + RESOURCE + " from the coffer-policy jar", e);
        }
    }
}
