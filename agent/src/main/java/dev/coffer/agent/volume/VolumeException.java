package dev.coffer.agent.volume;

/**
 * An encrypted volume could not be created, opened or closed. The message says what was
 * expected, what was found and what to do, in one line; it never carries key material.
 */
public final class VolumeException extends RuntimeException {
    private final Reason reason;

    /** Why, for callers that react differently (e.g. the agent refusing a group). */
    public enum Reason {
        /** The key does not open the volume (no keyslot accepts it). */
        WRONG_KEY,
        /** dm-crypt, loop devices or cryptsetup are not available here. */
        UNSUPPORTED,
        /** The file is not a LUKS2 volume of ours, or its arguments are invalid. */
        INVALID,
        /** The image is not the newest: its generation is older than the vault's (a replayed copy), or otherwise out of step. */
        STALE,
        /** A tool failed for another reason. */
        FAILED
    }

    public VolumeException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
