package dev.coffer.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.oci.OciException;

import java.util.ArrayList;
import java.util.List;

/** A single-platform image manifest (OCI or Docker v2 schema 2). */
public record ImageManifest(String mediaType, Descriptor config, List<Descriptor> layers)
        implements ManifestDocument {
    public ImageManifest {
        layers = List.copyOf(layers);
    }

    static ImageManifest fromJson(JsonNode root, String mediaType, String what) throws OciException {
        Descriptor config = Json.descriptor(root.get("config"), what + " config");
        JsonNode layersNode = root.get("layers");
        if (layersNode == null || !layersNode.isArray()) {
            throw new OciException(what + " has no 'layers' array; the manifest is malformed");
        }
        List<Descriptor> layers = new ArrayList<>();
        for (JsonNode l : layersNode) {
            Descriptor d = Json.descriptor(l, what + " layer " + layers.size());
            if (!MediaTypes.LAYERS.contains(d.mediaType())) {
                throw new OciException(what + " layer " + layers.size() + " has media type '" + d.mediaType()
                        + "'; expected a tar layer (plain, gzip or zstd): this is not a container image"
                        + " (an artifact such as a Helm chart or signature?)");
            }
            layers.add(d);
        }
        return new ImageManifest(mediaType, config, layers);
    }

    /** Canonical JSON of this manifest; its SHA-256 is the manifest digest. */
    public byte[] toJson() {
        ObjectNode n = Json.object();
        n.put("schemaVersion", 2);
        n.put("mediaType", mediaType);
        n.set("config", Json.descriptorJson(config));
        ArrayNode a = n.putArray("layers");
        layers.forEach(l -> a.add(Json.descriptorJson(l)));
        return Json.write(n);
    }
}
