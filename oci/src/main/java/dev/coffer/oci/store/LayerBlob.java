package dev.coffer.oci.store;

import dev.coffer.oci.digest.Digest;

/**
 * One layer of an image.
 *
 * @param digest    digest of the blob as stored (usually gzip-compressed)
 * @param diffId    digest of the uncompressed tar (from the image config's rootfs.diff_ids)
 * @param mediaType the layer media type from the manifest
 * @param size      size of the stored blob in bytes
 */
public record LayerBlob(Digest digest, Digest diffId, String mediaType, long size) {
}
