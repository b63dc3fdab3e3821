package dev.coffer.policy.model;

/**
 * The security-relevant launch flags of a container. {@code seccompProfileSha256} is the
 * SHA-256 of the seccomp profile JSON, or empty for the runtime's default (no profile).
 */
public record SecurityInput(boolean privileged, boolean allowStdioAccess, boolean noNewPrivileges,
                            String seccompProfileSha256, LimitsInput limits) {
    public static final SecurityInput DEFAULT = new SecurityInput(false, true, false, "");

    /** Without resource limits. */
    public SecurityInput(boolean privileged, boolean allowStdioAccess, boolean noNewPrivileges, String seccompProfileSha256) {
        this(privileged, allowStdioAccess, noNewPrivileges, seccompProfileSha256, LimitsInput.NONE);
    }

    public SecurityInput {
        limits = limits == null ? LimitsInput.NONE : limits;
        seccompProfileSha256 = seccompProfileSha256 == null ? "" : seccompProfileSha256;
        if (!seccompProfileSha256.isEmpty() && !seccompProfileSha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("seccompProfileSha256 must be 64 lowercase hex digits: found '"
                    + seccompProfileSha256 + "'; use `sha256sum profile.json`");
        }
    }
}
