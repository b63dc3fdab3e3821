package dev.coffer.oci.store;

import dev.coffer.oci.OciException;

/** A stored or received blob's content does not match its digest: it must never be used. */
public final class BlobTamperedException extends OciException {
    public BlobTamperedException(String message) {
        super(message);
    }
}
