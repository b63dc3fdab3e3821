package dev.coffer.shim.task;

import dev.coffer.shim.ttrpc.TtrpcException;

/**
 * Where the shim learns which image containerd resolved for a container: the manifest digest
 * ("sha256:HEX") of the image its CRI plugin created the container from. The bundle names the
 * image only by reference, and a name is what a hostile registry or host can repoint; the digest
 * is what Coffer's store must agree with before the container joins its pod.
 */
@FunctionalInterface
public interface ImageDigests {
    /** No source: the image is matched by name in Coffer's store (a task run by {@code ctr}, tests of the service alone). */
    ImageDigests NONE = containerId -> null;

    /** The manifest digest of the container's image, or null when this source cannot tell. */
    String manifestDigest(String containerId) throws TtrpcException;
}
