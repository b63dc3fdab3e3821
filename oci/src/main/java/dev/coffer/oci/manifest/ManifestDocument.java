package dev.coffer.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.oci.OciException;

/** What a manifest endpoint or an OCI layout can hold: a single-platform manifest or an index. */
public sealed interface ManifestDocument permits ImageManifest, ImageIndex {

    /**
     * Parses manifest JSON. The media type comes from the document itself, else from
     * {@code contentType} (registries send it as Content-Type), else from its shape.
     */
    static ManifestDocument parse(byte[] json, String contentType, String what) throws OciException {
        JsonNode root = Json.read(json, what);
        String mediaType = Json.text(root, "mediaType");
        if (mediaType == null || mediaType.isEmpty()) {
            mediaType = contentType == null ? "" : contentType.split(";", 2)[0].strip();
        }
        if (mediaType.equals(MediaTypes.DOCKER_SCHEMA1) || mediaType.equals(MediaTypes.DOCKER_SCHEMA1_SIGNED)
                || root.path("schemaVersion").asInt() == 1) {
            throw new OciException(what + " is a Docker schema 1 manifest, which is deprecated and unsupported;"
                    + " expected an OCI or Docker v2 schema 2 manifest: re-push the image with a current tool");
        }
        if (MediaTypes.INDEXES.contains(mediaType) || (!MediaTypes.MANIFESTS.contains(mediaType)
                && root.has("manifests") && !root.has("layers"))) {
            return ImageIndex.fromJson(root, mediaType.isEmpty() ? MediaTypes.OCI_INDEX : mediaType, what);
        }
        if (MediaTypes.MANIFESTS.contains(mediaType) || root.has("layers")) {
            return ImageManifest.fromJson(root, mediaType.isEmpty() ? MediaTypes.OCI_MANIFEST : mediaType, what);
        }
        throw new OciException(what + " has media type '" + mediaType + "'; expected an OCI/Docker image manifest"
                + " or index: this is not a container image");
    }
}
