package dev.coffer.oci.store;

/** Told how far a long transfer (pull, import) has come; called from the transferring thread. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (phase, done, total) -> { };

    /**
     * @param phase what is happening, e.g. "pulling 127.0.0.1:5000/app:1"
     * @param done  bytes done so far
     * @param total bytes expected in all, or -1 if unknown
     */
    void update(String phase, long done, long total);
}
