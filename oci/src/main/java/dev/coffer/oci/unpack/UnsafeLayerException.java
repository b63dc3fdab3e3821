package dev.coffer.oci.unpack;

import dev.coffer.oci.OciException;

/** A layer tar entry tries to write outside the target directory or through a link. */
public final class UnsafeLayerException extends OciException {
    public UnsafeLayerException(String message) {
        super(message);
    }
}
