package dev.coffer.layer;

/**
 * The dm-verity root hash of a layer (lowercase hex, the value policies list) with the facts
 * it was computed from.
 *
 * @param rootHash  64 lowercase hex digits
 * @param diffId    "sha256:..." of the uncompressed tar, or null when not computed
 * @param imageSize bytes of the ext4 image the hash covers
 */
public record LayerHash(String rootHash, String diffId, long imageSize) {
}
