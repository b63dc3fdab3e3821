package dev.coffer.policy.gen;

import java.io.IOException;

/** A layer of an image could not be read or hashed: the policy cannot pin it, so generation stops. */
public final class LayerProcessingException extends IOException {
    public LayerProcessingException(String message, Throwable cause) {
        super(message, cause);
    }
}
