package dev.coffer.policy.enforce;

/** The policy text cannot be enforced (syntax error, wrong package, missing containers ...). */
public final class PolicyLoadException extends IllegalArgumentException {
    public PolicyLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
