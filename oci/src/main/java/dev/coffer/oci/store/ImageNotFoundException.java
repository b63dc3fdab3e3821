package dev.coffer.oci.store;

import dev.coffer.oci.OciException;

/** No local image matches a reference or id. */
public final class ImageNotFoundException extends OciException {
    public ImageNotFoundException(String message) {
        super(message);
    }
}
