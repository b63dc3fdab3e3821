package dev.coffer.agent.container;

import dev.coffer.agent.protocol.Response;

/** A request the agent could not carry out; {@code code} is one of {@link Response.Failure}'s codes. */
public final class AgentException extends RuntimeException {
    private final String code;

    public AgentException(String code, String message) {
        super(message);
        this.code = code;
    }

    public String code() {
        return code;
    }

    /** For callers outside this package (the enforcer) that find a request malformed. */
    public static AgentException invalidRequest(String message) {
        return invalid(message);
    }

    static AgentException invalid(String message) {
        return new AgentException(Response.Failure.INVALID_REQUEST, message);
    }

    static AgentException notFound(String message) {
        return new AgentException(Response.Failure.NOT_FOUND, message);
    }

    static AgentException conflict(String message) {
        return new AgentException(Response.Failure.CONFLICT, message);
    }

    static AgentException failed(String message) {
        return new AgentException(Response.Failure.FAILED, message);
    }
}
