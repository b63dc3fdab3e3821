package dev.coffer.oci;

import java.io.IOException;

/**
 * A failure of the image machinery that a user can act on. It is an {@link IOException} because
 * most of these surface while reading or writing (a tampered blob is only detected at the end
 * of a stream). The message is one line: what was expected, what was found, what to do.
 */
public class OciException extends IOException {
    public OciException(String message) {
        super(message);
    }

    public OciException(String message, Throwable cause) {
        super(message, cause);
    }
}
