package dev.coffer.agent.protocol;

/** A request that cannot be decoded; carries the error code and the id if one could be read. */
public final class ProtocolException extends Exception {
    private final String code;
    private final long id;

    public ProtocolException(String code, long id, String message) {
        super(message);
        this.code = code;
        this.id = id;
    }

    public String code() {
        return code;
    }

    public long id() {
        return id;
    }
}
