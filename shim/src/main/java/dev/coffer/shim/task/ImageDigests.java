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

    /**
     * The image containerd resolved for a container.
     *
     * @param manifestDigest the single-platform manifest Coffer's image must be
     * @param resolvedAs     how it was found, for errors: the manifest itself, or the
     *                       platform entry of the image index containerd's image record names
     */
    record Resolved(String manifestDigest, String resolvedAs) {}

    /** The manifest containerd resolved for the container's image, or null when this source cannot tell. */
    Resolved manifestDigest(String containerId) throws TtrpcException;
}
