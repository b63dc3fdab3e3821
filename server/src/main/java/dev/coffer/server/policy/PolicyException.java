package dev.coffer.server.policy;

/** A release policy that does not follow the grammar; the message names the JSON path at fault. */
public final class PolicyException extends Exception {
    public PolicyException(String message) {
        super(message);
    }
}
